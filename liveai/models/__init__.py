"""Every table, by domain. Importing this package registers them all on Base.metadata."""

from liveai.models.audit import AuditEvent
from liveai.models.base import Base
from liveai.models.devices import ApnsEnvironment, Device
from liveai.models.generation import DataTransfer, Task, TaskState, Upload
from liveai.models.identity import AppleCredential
from liveai.models.ledger import HoldState, LedgerAccount, Transfer, TransferKind, TransferPhase
from liveai.models.policy import Consent, PolicyVersion
from liveai.models.privacy import (
    ErasureRun,
    PrivacyRequest,
    RequestKind,
    RequestState,
    RequestStep,
)
from liveai.models.purchases import Purchase, PurchaseState, StoreNotification
from liveai.models.users import Identity, User, UserStatus

__all__ = [
    "ApnsEnvironment",
    "AppleCredential",
    "AuditEvent",
    "Base",
    "Consent",
    "DataTransfer",
    "Device",
    "ErasureRun",
    "HoldState",
    "Identity",
    "LedgerAccount",
    "PolicyVersion",
    "PrivacyRequest",
    "Purchase",
    "PurchaseState",
    "RequestKind",
    "RequestState",
    "RequestStep",
    "StoreNotification",
    "Task",
    "TaskState",
    "Transfer",
    "TransferKind",
    "TransferPhase",
    "Upload",
    "User",
    "UserStatus",
]
