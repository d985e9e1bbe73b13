"""The visual report of a run: gathers what it shows (validation metrics, the training
history, the validation rows and their truth) from the runner's cache into a ReportData and
has pipeline.reports draw it into reports/, only when the validated model or reports.py
changed since it was last drawn.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline import cache
from pipeline.declarations import LOCAL
from pipeline.errors import PipelineError
from pipeline.runner import Runner

HISTORY = ("loss", "accuracy", "val_loss", "val_accuracy")  # train's per-epoch record, in the report


def drawn_key(folder: Path) -> str | None:
    """The key the report in `folder` was drawn for (pipeline.reports writes it into the head
    of index.html), or None when there is none."""
    try:
        head = (folder / "index.html").read_text(encoding="utf-8")[:600]
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r'<meta name="pipeline-key" content="(\w+)">', head)
    return found.group(1) if found else None


def report_html(runner: Runner, force: bool = False) -> Path | None:
    """Bring the visual report in reports/ up to date with the validated model (drawing
    it only when the validate stage or reports.py changed, or `force`); returns its
    index.html when it was drawn."""
    runner.run("validate")
    if runner.graph is not LOCAL:  # the plots need every held-out row in this process
        if force:
            raise PipelineError("the visual report is drawn for runs in one process; reports/metrics.json holds "
                                "this run's metrics (--cluster '' to draw one)")
        return None
    folder = runner.config.reports_dir
    key = cache.digest({"validate": runner.key("validate"),
                        "code": cache.source_digest(Path(__file__).parent / "reports.py")})
    if not force and drawn_key(folder) == key:
        return None
    from pipeline import reports, targets  # numpy and matplotlib: only when drawing

    trained = runner.outputs("train", ("arch", "best_epoch", *(f"history_{k}" for k in HISTORY)))
    ingested = runner.outputs("ingest", ("y", "label_column"))
    val_idx = runner.outputs("split", ("val_idx",))["val_idx"]
    x = runner.outputs("preprocess", ("x",))["x"]
    drawn = []
    for model, metrics, target in zip(targets.views(trained), targets.views(runner.outputs("validate")),
                                      targets.views(ingested)):
        drawn.append((str(target["label_column"]), reports.ReportData(
            metrics=metrics,
            history={k: model[f"history_{k}"] for k in HISTORY if f"history_{k}" in model},
            best_epoch=int(model.get("best_epoch", 0)),
            model=str(model["arch"]),
            truth=target["y"][val_idx],
            images=x[val_idx] if x.ndim == 4 else None,
        )))
    try:
        return reports.write_report(drawn, folder, key)
    except OSError as exc:
        raise PipelineError(f"cannot write {exc.filename or folder} ({exc.strerror}); make {folder} "
                            f"writable") from None
