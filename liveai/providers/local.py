"""The offline `local` provider: renders the camera move itself, no network, no keys.

Submitting renders into a work folder named by the task id, so submitting the same task
again (a resumed task) finds the finished file instead of rendering twice, and a poll
after a crash still finds the result. `release` removes the file once the lifecycle has
stored the video.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from liveai.errors import ProviderUnavailable
from liveai.privacy.inventory_types import Region
from liveai.private_files import private_folder
from liveai.providers.base import (
    ImageTransport,
    ProviderState,
    ProviderStatus,
    VideoRequest,
)
from liveai.providers.render import render_mp4

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class LocalProvider:
    name = "local"
    region: Region = "mainland_china"
    # Runs on our own machine: nothing leaves, so no data transfer is recorded.
    third_party = False

    def __init__(self, work_dir: Path, *, max_side: int) -> None:
        self.work_dir = work_dir
        self.max_side = max_side

    def image_transport(self, request: VideoRequest) -> ImageTransport:
        return "local"

    def _path(self, provider_task_id: str) -> Path:
        if not _SAFE_ID.match(provider_task_id):
            raise ProviderUnavailable(
                f"malformed task id {provider_task_id!r}", provider=self.name, code="bad_id"
            )
        return self.work_dir / f"{provider_task_id}.mp4"

    def submit(self, request: VideoRequest) -> str:
        provider_task_id = request.task_id.replace("-", "")
        target = self._path(provider_task_id)
        if target.exists():
            return provider_task_id
        video = render_mp4(
            request.image_jpeg, request.motion, request.duration_s, max_side=self.max_side
        )
        private_folder(self.work_dir)
        handle, temporary = tempfile.mkstemp(dir=self.work_dir, suffix=".part")
        with os.fdopen(handle, "wb") as file:
            file.write(video)
        os.replace(temporary, target)
        return provider_task_id

    def poll(self, provider_task_id: str) -> ProviderStatus:
        path = self._path(provider_task_id)
        if not path.exists():
            return ProviderStatus(
                ProviderState.FAILED,
                provider_task_id,
                error_code="unknown_task",
                error_message="no rendered video for this task (submit it again)",
            )
        return ProviderStatus(
            ProviderState.SUCCEEDED, provider_task_id, video_bytes=path.read_bytes()
        )

    def cancel(self, provider_task_id: str) -> bool:
        # Rendering happens inside submit, so there is never a render to stop.
        return False

    def release(self, provider_task_id: str) -> None:
        self._path(provider_task_id).unlink(missing_ok=True)
