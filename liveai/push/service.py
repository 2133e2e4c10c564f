"""Pushes to a user's devices: completion notifications, operator messages, test pushes.

Sending happens outside any database transaction (an APNs outage must not hold SQLite's
write lock); the devices are read in one short transaction and the tokens APNs refused
are removed in another.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.errors import ConfigError
from liveai.events import TaskFinished, TaskFinishedHandler
from liveai.models import ApnsEnvironment, Device
from liveai.push.client import Notification, PushOutcome, PushResult, Target
from liveai.push.pusher import Pusher, apns_config, make_signer
from liveai.push.registry import (
    devices_of,
    find_device,
    forget_invalid_token,
    normalise_token,
    parse_environment,
)
from liveai.settings import Settings
from liveai.users import get_user

log = logging.getLogger("liveai.push")


@dataclass(frozen=True)
class DeviceOutcome:
    """What happened to one device's push; `removed` when APNs said the token is dead."""

    device_id: int | None
    result: PushResult
    removed: bool

    def to_dict(self) -> dict[str, Any]:
        result = self.result
        return {
            "device_id": self.device_id,
            "token": result.target.token,
            "environment": result.target.environment.value,
            "outcome": "removed" if self.removed else result.outcome.value,
            "status": result.status,
            "reason": result.reason,
            "attempts": result.attempts,
            "apns_id": result.apns_id,
        }


@dataclass(frozen=True)
class _Snapshot:
    device_id: int | None
    target: Target
    locale: str | None


def _snapshot(device: Device) -> _Snapshot:
    return _Snapshot(device.id, Target(device.token, device.environment), device.locale)


def _deliver(
    database: Database,
    pusher: Pusher,
    devices: Sequence[_Snapshot],
    compose: Callable[[_Snapshot], Notification],
) -> list[DeviceOutcome]:
    results = pusher.push([(d.target, compose(d)) for d in devices])
    outcomes: list[DeviceOutcome] = []
    invalid = [r for r in results if r.outcome is PushOutcome.INVALID_TOKEN]
    removed: set[str] = set()
    if invalid:
        with database.transaction() as session:
            for r in invalid:
                if forget_invalid_token(
                    session,
                    r.target.token,
                    r.reason or "invalid",
                    invalid_since=r.invalid_since,
                    clock=pusher.clock,
                ):
                    removed.add(r.target.token)
    for device, result in zip(devices, results, strict=True):
        outcomes.append(DeviceOutcome(device.device_id, result, result.target.token in removed))
    return outcomes


def send_to_user(
    database: Database, pusher: Pusher, user_ref: str | uuid.UUID, note: Notification
) -> list[DeviceOutcome]:
    """Send one notification to every device of a user, concurrently."""
    note.check()
    with database.transaction() as session:
        user = get_user(session, user_ref)
        devices = [_snapshot(d) for d in devices_of(session, user.id)]
    return _deliver(database, pusher, devices, lambda _device: note)


def send_test(
    database: Database,
    pusher: Pusher,
    token: str,
    environment: str | ApnsEnvironment,
    note: Notification,
) -> DeviceOutcome:
    """Push to a raw token, registered or not; a registered token APNs refuses is removed."""
    note.check()
    target = Target(normalise_token(token), parse_environment(environment))
    with database.transaction() as session:
        device = find_device(session, target.token)
        snapshot = _Snapshot(device.id if device else None, target, None)
    return _deliver(database, pusher, [snapshot], lambda _device: note)[0]


_MESSAGES = {
    ("zh", True): ("视频已生成", "你的动态照片已经做好了，点击查看。"),  # noqa: RUF001
    ("zh", False): ("视频生成失败", "这次没有做成，点击查看详情并重试。"),  # noqa: RUF001
    ("en", True): ("Your video is ready", "Your Live Photo is done. Tap to watch it."),
    ("en", False): ("Your video could not be made", "Something went wrong. Tap to try again."),
}


def completion_message(event: TaskFinished, locale: str | None) -> Notification:
    """The completion alert in the device's language (Chinese or English), with the task id."""
    language = "zh" if (locale or "").lower().startswith("zh") else "en"
    title, body = _MESSAGES[(language, event.succeeded)]
    return Notification(
        title=title,
        body=body,
        collapse_id=event.task_id,
        thread_id="generations",
        data={"taskId": event.task_id, "state": event.state},
    )


def notify_task_finished(
    database: Database, pusher: Pusher, event: TaskFinished
) -> list[DeviceOutcome]:
    """Tell every device of the task's user that it ended (success or failure)."""
    with database.transaction() as session:
        devices = [_snapshot(d) for d in devices_of(session, event.user_id)]
    if not devices:
        return []
    return _deliver(database, pusher, devices, lambda d: completion_message(event, d.locale))


def completion_handler(
    settings: Settings,
    database: Database,
    *,
    clock: Clock = SYSTEM_CLOCK,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TaskFinishedHandler | None:
    """A TaskFinished handler that pushes to the user's devices; None without APNs settings.

    The handler never raises: a failed push is logged and never fails the generation. The
    provider token is cached across calls; each call uses one fresh HTTP/2 connection.
    """
    try:
        config = apns_config(settings)
        if config is None:
            return None
        pusher = Pusher(config, make_signer(config, clock), clock=clock, sleep=sleep)
    except ConfigError:
        log.exception("APNs is misconfigured; completion pushes are off")
        return None

    def handle(event: TaskFinished) -> None:
        try:
            outcomes = notify_task_finished(database, pusher, event)
            delivered = sum(o.result.delivered for o in outcomes)
            log.info("task %s: pushed to %d/%d devices", event.task_id, delivered, len(outcomes))
        except Exception:
            log.exception("completion push for task %s failed", event.task_id)

    return handle
