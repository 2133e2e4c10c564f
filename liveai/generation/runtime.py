"""Wiring a Lifecycle from the settings: storage, providers, an http client."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx

from liveai import stopping
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.errors import LiveAIError
from liveai.events import TaskFinishedHandler
from liveai.generation.lifecycle import Lifecycle, Progress, no_progress
from liveai.generation.pricing import hold_amount
from liveai.providers.registry import build_providers, candidates
from liveai.push.service import completion_handler
from liveai.settings import Settings
from liveai.storage import open_storage


def http_client(settings: Settings) -> httpx.Client:
    """The client for provider calls and result downloads; the caller closes it.

    It follows no redirect: a 307/308 would re-send the photo to wherever it points.
    """
    return httpx.Client(timeout=settings.provider_http_timeout_s, follow_redirects=False)


def build_lifecycle(
    database: Database,
    settings: Settings,
    client: httpx.Client,
    *,
    clock: Clock = SYSTEM_CLOCK,
    sleep: Callable[[float], Any] = stopping.sleep,
    progress: Progress = no_progress,
    on_finished: Sequence[TaskFinishedHandler] = (),
) -> Lifecycle:
    """The lifecycle the settings describe; completion pushes go out when APNs is set up."""
    push = completion_handler(settings, database)
    return Lifecycle(
        database=database,
        storage=open_storage(settings),
        providers=build_providers(settings, client),
        settings=settings,
        client=client,
        clock=clock,
        sleep=sleep,
        progress=progress,
        on_finished=[*on_finished, push] if push is not None else on_finished,
    )


def generation_health(settings: Settings) -> tuple[bool, str]:
    """Which providers a task would try, in order, and that the default duration is priced."""
    try:
        with http_client(settings) as client:
            names = candidates(build_providers(settings, client), settings)
        price = hold_amount(settings, names, settings.generation_default_duration_s)
    except LiveAIError as exc:
        return False, str(exc)
    seconds = settings.generation_default_duration_s
    return True, f"tries {', '.join(names)}; {seconds} s costs up to {price} credits"
