"""Live progress on stderr for long work: the step, how many of how many, the ETA.

Shown only on a terminal and without `-q`; piped or quiet, the callbacks do nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from liveai_cli import logs, output

Advance = Callable[[str], None]


def shown(enabled: bool = True) -> bool:
    return enabled and not logs.quiet() and output.stderr().is_terminal


@contextmanager
def tasks_bar(step: str, *, total: int | None = None, enabled: bool = True) -> Iterator[Advance]:
    """A bar (a counter when ``total`` is unknown); ``advance(outcome)`` counts one item
    done, by outcome (succeeded, failed, refused, ...), shown beside the step."""
    if not shown(enabled):
        yield lambda outcome: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    else:
        columns += [TextColumn("{task.completed} done"), TimeElapsedColumn()]
    outcomes: Counter[str] = Counter()
    with Progress(*columns, console=output.stderr(), transient=True) as progress:
        bar = progress.add_task(step, total=total)

        def advance(outcome: str) -> None:
            outcomes[outcome] += 1
            tally = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
            progress.update(bar, advance=1, description=f"{step} ({tally})")

        yield advance


@contextmanager
def step(what: str, *, enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A spinner saying what is being done and for how long; ``update(text)`` changes the
    text (a count so far, the next step)."""
    if not shown(enabled):
        yield lambda text: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=output.stderr(), transient=True) as progress:
        line = progress.add_task(what, total=None)
        yield lambda text: progress.update(line, description=f"{what}: {text}")
