"""What the user sees while the pipeline works: stage lines, warnings, a line per epoch, and
progress bars in a terminal (a plain line now and then in a log or pipe), all through rich.
The runner reports through the Reporter interface; this is the CLI's rendering of it.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from pipeline.runner import NEVER_RUN, Reporter, StageStatus

out = Console()
err = Console(stderr=True)
PLAIN_EVERY_S = 10.0  # without a terminal, long work prints a progress line this often


class RichReporter(Reporter):
    """Stage lines and a line per epoch; for long work, a progress bar in a terminal, or a
    plain line every PLAIN_EVERY_S seconds in a log or pipe."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar: Progress | None = None
        self.bar_task = ""
        self.plain_since = self.plain_last = 0.0

    def plan(self, stages: list[StageStatus]) -> None:
        if self.quiet:
            return
        names = {s.name for s in stages}

        def shown(s: StageStatus) -> str:
            upstream = all(part.removesuffix(" changed") in names for part in s.reason.split(", "))
            return s.name if s.reason == NEVER_RUN or upstream else f"{s.name} ({s.reason})"

        out.print(f"[bold]will run[/] {escape(', '.join(shown(s) for s in stages))}", highlight=False,
                  soft_wrap=True)

    def stage(self, name: str, action: str, reason: str) -> None:
        if self.quiet:
            return
        if action == "cached":
            out.print(f"[green]✓[/] {name:<10} [dim]cached[/]")
        else:
            out.print(f"[yellow]▶[/] {name:<10} [dim]running ({reason})[/]", highlight=False)

    def finished(self, name: str, seconds: float) -> None:
        self.close()
        if not self.quiet:
            out.print(f"[green]✓[/] {name:<10} [dim]done in {seconds:.1f}s[/]")

    def info(self, message: str) -> None:
        self.close()
        if not self.quiet:
            out.print(f"  [dim]{escape(message)}[/]", highlight=False, soft_wrap=True)  # paths stay whole

    def warn(self, message: str) -> None:
        self.close()
        err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)

    def progress(self, task: str, done: int, total: int, detail: str = "") -> None:
        if self.quiet:
            return
        if not out.is_terminal:  # a log: a plain line now and then, none for short work
            now = time.monotonic()
            self.plain_since = self.plain_since if task == self.bar_task else now
            self.bar_task = task
            if now - self.plain_since >= PLAIN_EVERY_S and now - self.plain_last >= PLAIN_EVERY_S:
                self.plain_last = now
                out.print(f"  {task}: {100 * done / max(total, 1):.0f}%  {detail}".rstrip(), highlight=False)
            return
        if self.bar is None or task != self.bar_task:
            self.close()
            self.bar = Progress(
                TextColumn("  {task.description}"), BarColumn(), TaskProgressColumn(),
                TimeRemainingColumn(), TextColumn("{task.fields[detail]}"), console=out, transient=True,
            )
            self.bar.start()
            self.bar.add_task(task, total=total, detail=detail)
            self.bar_task = task
        self.bar.update(self.bar.task_ids[0], completed=done, total=total, detail=detail)

    def epoch(self, label: str, logs: dict[str, float]) -> None:
        self.close()
        if self.quiet:
            return
        shown = "  ".join(
            f"{k.replace('accuracy', 'acc')} {v:.4f}" for k, v in logs.items() if k != "learning_rate"
        )
        out.print(f"  {label}  {shown}", highlight=False, soft_wrap=True)

    def close(self) -> None:
        """Stop a running progress bar so the next line prints cleanly."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
