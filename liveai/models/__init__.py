"""Every table, by domain. Importing this package registers them all on Base.metadata."""

from liveai.models.audit import AuditEvent
from liveai.models.base import Base
from liveai.models.users import Identity, User, UserStatus

__all__ = ["AuditEvent", "Base", "Identity", "User", "UserStatus"]
