"""A user with data in every store, for the export and erasure tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from liveai import ledger
from liveai.clock import FixedClock
from liveai.generation.tasks import task_keys
from liveai.models import (
    ApnsEnvironment,
    DataTransfer,
    Device,
    Purchase,
    PurchaseState,
    Task,
    TaskState,
    Upload,
)
from liveai.privacy import consents
from liveai.settings import Settings
from liveai.storage import Storage, result_key, upload_key
from liveai.users import create_user

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
LOGTO = "https://auth.example.test/oidc"


@dataclass
class Seeded:
    user_id: uuid.UUID
    subject: str
    task_ids: list[uuid.UUID]
    deleted_task_id: uuid.UUID
    media: dict[str, bytes]


def seed_user(session: Session, storage: Storage, *, tag: str = "a") -> Seeded:
    subject = f"logto-{tag}-{uuid.uuid4().hex[:8]}"
    user = create_user(
        session,
        issuer=LOGTO,
        subject=subject,
        email=f"{tag}@privaterelay.appleid.com",
        display_name=f"Person {tag}",
    )
    ledger.grant(session, user.id, 100, key=f"seed-grant:{tag}:{user.id}", reason="welcome")
    transaction_id = f"2000000{uuid.uuid4().int % 10**9}"
    ledger.credit_purchase(
        session, user.id, 50, transaction_id=transaction_id, product_id="credits.50"
    )
    session.add(
        Purchase(
            transaction_id=transaction_id,
            original_transaction_id=transaction_id,
            product_id="credits.50",
            environment="Sandbox",
            quantity=1,
            credits=50,
            state=PurchaseState.CREDITED,
            source="receipt",
            user_id=user.id,
            transfer_key=f"appstore:{transaction_id}",
            purchased_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    session.add(
        Device(
            user_id=user.id,
            token=uuid.uuid4().hex * 2,
            environment=ApnsEnvironment.SANDBOX,
            app_version="1.4",
            ios_version="18.1",
            locale="zh-Hans",
            created_at=NOW,
            last_seen_at=NOW,
        )
    )
    media: dict[str, bytes] = {}
    task_ids = []
    for n, deleted in enumerate((False, False, True)):
        key = upload_key(user.id, f"{tag}{n}.jpg")
        video = result_key(user.id, f"{tag}{n}.mp4")
        image, clip = f"jpeg {tag}{n}".encode(), f"mp4 {tag}{n}".encode()
        storage.put(key, image, content_type="image/jpeg")
        storage.put(video, clip, content_type="video/mp4")
        upload = Upload(
            user_id=user.id,
            storage_key=key,
            media_type="image/jpeg",
            size_bytes=len(image),
            sha256="0" * 64,
            width=640,
            height=480,
            created_at=NOW,
            delete_after=NOW + timedelta(days=30),
        )
        session.add(upload)
        session.flush()
        task_id = uuid.uuid4()
        task = Task(
            id=task_id,
            user_id=user.id,
            upload_id=upload.id,
            state=TaskState.SUCCEEDED,
            prompt=f"waves {tag}{n}",
            motion="zoom_in",
            duration_s=5,
            provider="kling",
            price=10,
            hold_key=task_keys(task_id).hold,
            result_key=video,
            created_at=NOW,
            updated_at=NOW,
            finished_at=NOW,
            deleted_at=NOW if deleted else None,
        )
        session.add(task)
        session.flush()
        session.add(
            DataTransfer(
                task_id=task.id,
                user_id=user.id,
                provider="kling",
                region="mainland_china",
                items=["image", "prompt"],
                transport="base64",
                at=NOW,
            )
        )
        task_ids.append(task.id)
        if not deleted:
            media[key] = image
            media[video] = clip
    session.flush()
    _consent_history(session, user.id, f"{tag}@privaterelay.appleid.com")
    return Seeded(user.id, subject, task_ids[:2], task_ids[2], media)


def _consent_history(session: Session, user_id: uuid.UUID, email: str) -> None:
    """Consents given in the app and by staff (a note naming the person), one withdrawn."""
    clock = FixedClock(NOW)
    app = consents.Evidence(app_version="2.3.0", request_id=f"req-{uuid.uuid4().hex[:8]}")
    consents.grant(session, user_id, "face_editing", source="in-app", evidence=app, clock=clock)
    staff = consents.Evidence(note=f"phoned in by {email} ({user_id})")
    consents.grant(
        session, user_id, "cross_border:fal", source="staff", evidence=staff, clock=clock
    )
    consents.withdraw(
        session, user_id, "cross_border:fal", settings=Settings(), evidence=staff, clock=clock
    )
