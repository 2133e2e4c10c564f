"""Finding a generation by our own task id, after a submit whose answer never came.

A submit that timed out, or a runner that died mid-submit, may or may not have started a
paid generation. A provider that keeps our id (Kling's ``external_task_id``) can be asked;
the lifecycle then collects that generation instead of starting another.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Findable(Protocol):
    def find(self, our_task_id: str) -> str | None:
        """The provider's task id for the generation submitted with our id; None if none."""
        ...
