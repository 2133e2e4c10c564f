"""Published privacy-policy versions, and the consents that refer to them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from liveai.models.base import Base


class PolicyVersion(Base):
    """One published policy: its content hash, the facts it was rendered from, and its text
    exactly as published (Markdown, HTML and plain text; rows from before 0022 hold only
    Markdown)."""

    __tablename__ = "policy_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    updated_on: Mapped[date]
    published_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    text_md: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(40))
    """The date-based name users see (2026-12-05, or 2026-12-05.2 for a second that day)."""
    effective_on: Mapped[date | None]
    text_html: Mapped[str | None] = mapped_column(Text)
    text_txt: Mapped[str | None] = mapped_column(Text)


class Consent(Base):
    """One step in a user's consent history: a grant or a withdrawal, never changed later.

    What stands now is derived from the history (the latest step per kind and scope).
    ``policy_version`` is the policy the user was shown; ``evidence`` holds the app
    version, the request id and a staff note, whichever the source gave.
    """

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("policy_versions.version"), index=True
    )
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(100))
