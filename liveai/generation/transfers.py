"""The record of which third party received what from a task (GDPR Art. 15(1)(c), PIPL
Art. 39), written before the photo leaves, in the transaction that confirms the consent.

One record per task and recipient: the provider itself, and any screening service a
provider sends the request to first. The local renderer receives nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.clock import Clock
from liveai.generation import rows
from liveai.models import DataTransfer, Task
from liveai.privacy import consents
from liveai.providers.base import Provider, Recipient, VideoRequest


def remote(provider: Provider) -> bool:
    """A provider on someone else's machines; the local renderer is the one that is not."""
    return bool(getattr(provider, "third_party", True))


def record_screening(
    session: Session, task: Task, provider: Provider, recipients: Sequence[Recipient], clock: Clock
) -> None:
    """Before the request goes to ``provider``'s screening ``recipients``: the user's consent
    to the provider's generation and to each check, and a transfer record for each."""
    _consented(session, task, provider, recipients)
    for recipient in recipients:
        _record(session, task, recipient, clock)


def record_submit(
    session: Session, task: Task, provider: Provider, request: VideoRequest, clock: Clock
) -> None:
    """Before the photo goes to ``provider``: the user's consent, and the transfer record."""
    _consented(session, task, provider)
    recipient = _provider_recipient(provider, request)
    if recipient is not None:
        _record(session, task, recipient, clock)


def transfers_of(session: Session, task_id: uuid.UUID) -> Sequence[DataTransfer]:
    query = select(DataTransfer).where(DataTransfer.task_id == task_id).order_by(DataTransfer.id)
    return session.scalars(query).all()


def _provider_recipient(provider: Provider, request: VideoRequest) -> Recipient | None:
    """What the provider itself receives; None for the local renderer."""
    if not remote(provider):
        return None
    items = ("image", "prompt") if request.prompt else ("image",)
    return Recipient(provider.name, provider.region, items, provider.image_transport(request))


def _record(session: Session, task: Task, recipient: Recipient, clock: Clock) -> None:
    """One record per task and recipient; a second transfer to it widens that record."""
    first = {
        "task_id": task.id,
        "user_id": task.user_id,
        "provider": recipient.name,
        "region": recipient.region,
        "items": list(recipient.items),
        "transport": recipient.transport,
        "at": clock.now(),
    }
    if rows.add_transfer(session, first):
        return
    record = session.scalar(
        select(DataTransfer).where(
            DataTransfer.task_id == task.id, DataTransfer.provider == recipient.name
        )
    )
    assert record is not None
    record.items = [*record.items, *(i for i in recipient.items if i not in record.items)]
    transports = record.transport.split(",")
    if recipient.transport not in transports:
        record.transport = ",".join(sorted([*transports, recipient.transport]))


def _consented(
    session: Session, task: Task, provider: Provider, screening: Sequence[Recipient] = ()
) -> None:
    """Before data leaves, in the transaction that records its transfer: the user has
    consented to the provider's generation (and to each screening recipient's check), or
    NotConsented is raised and nothing is written or sent."""
    consents.confirm(session, task.user_id, "generation", provider.name, region=provider.region)
    for recipient in screening:
        consents.confirm(
            session, task.user_id, "moderation", recipient.name, region=recipient.region
        )
