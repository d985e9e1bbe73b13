"""The `pipeline` commands: parse options, build the config, call the runner, print results
(tables with rich; progress goes through pipeline.cli.console).

No pipeline logic lives here. Every command that runs stages takes the same parameter options,
because a stage's key includes its parameters. What an option sets stays the folder's setting
(pipeline.sticky), so `run-all --epochs 3` then a bare `predict` uses the model just trained;
`run-all`, `train` and `predict` are put on record in the run log (pipeline.runlog).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import shlex
import shutil
import sys
import typing
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich.markup import escape
from rich.table import Table

from pipeline import runlog, sticky
from pipeline.cli.console import RichReporter, err, out
from pipeline.errors import PipelineError
from pipeline.cli.options import Common, Settings, Work, flag, parameters, take
from pipeline.outputs import predict_file, write_submission
from pipeline.report_run import report_html
from pipeline.runner import Runner
from pipeline.targets import summaries

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help, where flags read as flags (typer's panels give each a type)
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version

        out.print(f"pipeline {version('kaggle-csv-pipeline')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Kaggle CSV competitions: cached stages from data/raw/train.csv + test.csv to a submission."""


def command(name: str, *groups: type, logged: bool = False,
            keeps: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a command that receives a ready Runner (and, when `logged`, the Run it is on
    record as). It takes the Common options and those of `groups` (Work, Settings); what its
    Settings options set is kept as the folder's setting unless `keeps` is False; user errors
    become one line and exit code 2."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        hints = typing.get_type_hints(fn, include_extras=True)  # the Annotated options, not their text
        own = [p.replace(annotation=hints[p.name]) for p in inspect.signature(fn).parameters.values()
               if p.name not in ("runner", "run")]

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            common, work, settings = (take(g, kwargs) if g is Common or g in groups else g()
                                      for g in (Common, Work, Settings))
            reporter = RichReporter(quiet=common.quiet)
            runner = run = None
            before: dict[str, Any] | None = None  # the kept settings, put back if the command fails
            try:
                by = _command_line(name, common, settings)
                before = sticky.read() if keeps and not kwargs.get("reset", False) else None
                config, changes = sticky.configure(_given(common, settings), by, keep=keeps,
                                                   reset=kwargs.get("reset", False))
                if changes:
                    kept = any(change.kept for change in changes)
                    out.print(f"[bold]setting for this folder:[/] {escape('; '.join(map(str, changes)))}"
                              + (" [dim](kept for the next commands; `pipeline config --reset` clears)[/]"
                                 if kept else ""), highlight=False, soft_wrap=True)
                runner = Runner(config, reporter, force=work.force, resume=work.resume, tensorboard=work.tensorboard)
                if logged:
                    run = kwargs["run"] = runlog.start(by)
                fn(runner=runner, **kwargs)
            except PipelineError as exc:
                reporter.close()
                _finish(run, runner, f"error: {exc}")
                forgot = before is not None and runner is not None and _forget_settings(before)
                err.print(f"[bold red]error:[/] {escape(str(exc))}"
                          + (" [dim](the settings given here are not kept)[/]" if forgot else ""),
                          highlight=False, soft_wrap=True)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                reporter.close()
                _finish(run, runner, "interrupted")
                err.print("interrupted; cached stages are kept")
                raise typer.Exit(130) from None
            _finish(run, runner, "ok")

        wrapper.__signature__ = inspect.Signature(own + parameters(Common, *groups))  # type: ignore[attr-defined]
        return app.command(name)(wrapper)

    return decorate


def _finish(run: runlog.Run | None, runner: Runner | None, status: str) -> None:
    """Put a logged command on record; a log that cannot be written costs a warning, not the run."""
    if run is None or runner is None:
        return
    try:
        runlog.finish(run, runner, status)
    except PipelineError as exc:
        err.print(f"[yellow]warning:[/] not on record: {escape(str(exc))}", highlight=False, soft_wrap=True)


def _forget_settings(before: dict[str, Any]) -> bool:
    """A failed command keeps none of the settings it gave (they are often the mistake):
    whether there were any to forget."""
    try:
        if sticky.read() != before:
            sticky.write(before)
            return True
    except PipelineError:
        pass
    return False


def _given(common: Common, settings: Settings) -> dict[str, Any]:
    """The settings this command's options set, by name ("train.epochs": 3)."""
    given = settings.given()
    if common.data_dir is not None:
        given["data_dir"] = str(common.data_dir)
    return given


def _command_line(name: str, common: Common, settings: Settings) -> str:
    """The command as typed, less options that set nothing, e.g. `run-all --epochs 3`."""
    words = [name] + (["--data-dir", shlex.quote(str(common.data_dir))] if common.data_dir is not None else [])
    for option, value in vars(settings).items():
        if value is not None:
            words += ([flag(option)] if value is True else [f"--no-{flag(option)[2:]}"] if value is False
                      else [flag(option), shlex.quote(str(value))])
    return " ".join(words)


# -- stage commands ----------------------------------------------------------------------


def _stage_command(stage: str, doc: str) -> None:
    def run_stage(runner: Runner, run: Any = None) -> None:
        runner.run(stage)
        if stage == "validate":
            _print_metrics(runner)

    run_stage.__doc__ = doc
    command(stage, Work, Settings, logged=stage == "train")(run_stage)


_stage_command("ingest", "Read data/raw/train.csv and test.csv into arrays.")
_stage_command("preprocess", "Reshape to images and scale to [0, 1]; tables pass through.")
_stage_command("split", "Stratified train/validation split (indices only).")
_stage_command("train", "Train the Keras model; also exports models/model.keras.")
_stage_command("validate", "Validation metrics; saves reports/metrics.json.")


@command("run-all", Work, Settings, logged=True)
def run_all(runner: Runner, run: Any) -> None:
    """Run ingest through validate, taking fresh stages from the cache, and refresh the
    report in reports/."""
    drawn = report_html(runner)
    _print_metrics(runner)
    if drawn:
        out.print(f"[dim]report: {drawn}[/]", highlight=False)


@command("report", Work, Settings)
def report(runner: Runner) -> None:
    """Draw the visual report of the validated model into reports/ (index.html, learning
    curves, confusion matrix, most confident mistakes, per-class precision and recall,
    feature importance for tabular data, history.csv). run-all keeps it up to date."""
    drawn = report_html(runner, force=True)
    out.print(f"wrote [bold]{drawn}[/]", highlight=False)


@command("predict", Work, Settings, logged=True)
def predict(
    runner: Runner,
    run: Any,
    out_path: Annotated[Path, typer.Option("--out", "-o", metavar="FILE", help="Where to write the submission CSV.")] = Path("submissions/submission.csv"),
    input_path: Annotated[Optional[Path], typer.Option(
        "--input", "-i", metavar="FILE", help="Predict this CSV (any rows with train.csv's feature columns) instead "
        "of test.csv.")] = None,
) -> None:
    """Predict test.csv (or --input FILE) and write a checked submission CSV, also kept as
    submissions/run-NNN.csv (see `pipeline runs`)."""
    if input_path:
        frame = predict_file(runner, input_path, out_path)
        run.wrote["predictions"] = {"input": str(input_path), "path": str(out_path)}
    else:
        frame = write_submission(runner, out_path, before_writing=run.protect)
        run.keep(out_path)
    header = ",".join(str(c) for c in frame.columns)
    out.print(f"wrote [bold]{out_path}[/]: {len(frame)} rows, header {header}", highlight=False)
    if aside := run.wrote.get("kept_aside"):
        out.print(f"[dim]the previous {out_path} is kept as {aside}[/]", highlight=False, soft_wrap=True)
    if kept := run.wrote.get("submission", {}).get("kept"):
        same = "" if kept.endswith(f"run-{run.number:03d}.csv") else ", the same file as an earlier run's"
        out.print(f"[dim]kept as {kept}{same} (`pipeline runs` lists every run)[/]", highlight=False,
                  soft_wrap=True)


@command("status", Settings, keeps=False)
def status(runner: Runner) -> None:
    """Show each stage as fresh, stale (and why) or missing. Never imports TensorFlow. Options
    given here show what they would change and are not kept."""
    table = Table("stage", "state", "why")
    colour = {"fresh": "green", "stale": "yellow", "missing": "red"}
    for row in runner.status():
        table.add_row(row.name, f"[{colour[row.state]}]{row.state}[/]", row.reason)
    out.print(table)
    _print_task(runner)


def _print_task(runner: Runner) -> None:
    """The task ingest decided (not known before ingest has run), or each target's."""
    found = runner.targets()
    shown = summaries(found) if found else ["task: decided when ingest runs (--task and --metric to choose)"]
    for line in shown:
        out.print(f"[dim]{escape(line)}[/]", highlight=False, soft_wrap=True)


@command("config", Settings)
def show_config(
    runner: Runner,
    reset: Annotated[bool, typer.Option("--reset", help="Clear the settings commands kept for this folder (back "
                                        "to pipeline.toml and the defaults), then keep any options given here.")] = False,
) -> None:
    """Print the effective settings and where each comes from: the default, pipeline.toml, a
    command that set it for this folder (`set by run-all --epochs 3`) or the preset. Options
    given here are kept for the folder, like any command's."""
    from pipeline.config import settings

    table = Table("setting", "value", "from", title="effective configuration")
    for name, value, source in settings(runner.config):
        table.add_row(name, json.dumps(value), source, style=None if source == "default" else "bold")  # TOML's spelling
    out.print(table)
    _print_task(runner)


@command("clean")
def clean(runner: Runner) -> None:
    """Remove cached outputs (data/processed/), models/model.keras and .pkl (each target's, in
    models/TARGET/, with several), reports/metrics.json and the report. data/raw/ is never touched."""
    from pipeline.reports import PER_TARGET_FILE

    config = runner.config
    models = [config.models_dir / f"{folder}model.{s}" for folder in ("", "*/") for s in ("keras", "pkl")]
    exported = {runner.exported(name) for name in runner.graph.stages}
    exported |= {p for pattern in models for p in Path().glob(str(pattern))}
    removed = [p for p in exported if p is not None and p.exists()]  # a blend exports both models
    removed += [p for p in config.processed_dir.glob("*") if p.name != ".gitkeep"]
    removed += [p for p in config.reports_dir.glob("*") if PER_TARGET_FILE.fullmatch(p.name)]
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        if path.parent.parent == config.models_dir and not any(path.parent.iterdir()):
            path.parent.rmdir()  # a target's folder, now empty
    out.print(f"removed {len(removed)} cached file(s)")


@command("demo")
def demo(
    runner: Runner,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing CSVs in data/raw/.")] = False,
) -> None:
    """Write the embedded demo competition (scikit-learn's 8x8 digits) into data/raw/."""
    from pipeline.demo import write_demo

    for path in write_demo(runner.config.raw_dir, overwrite=force):
        out.print(f"wrote {path}")
    out.print("next: [bold]pipeline run-all[/] then [bold]pipeline predict --out submissions/sub.csv[/]")


@command("fetch")
def fetch(
    runner: Runner,
    competition: Annotated[str, typer.Argument(metavar="COMPETITION", help="The competition's slug (kaggle.com/competitions/SLUG) or URL.")],
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite files of the same name in data/raw/.")] = False,
) -> None:
    """Download a Kaggle competition's files into data/raw/ (needs the kaggle package: pip install kaggle)."""
    from pipeline import kaggle

    slug = kaggle.competition_slug(competition)
    api = kaggle.connect()
    show = out.is_terminal and not getattr(runner.report, "quiet", False)
    for path in kaggle.fetch(api, slug, runner.config.raw_dir, force=force, quiet=not show):
        out.print(f"wrote {path}")
    kaggle.remember(runner.config.data_dir, slug)
    out.print("next: [bold]pipeline run-all[/] then [bold]pipeline predict[/] and [bold]pipeline submit -m ...[/]")


@command("submit")
def submit(
    runner: Runner,
    message: Annotated[str, typer.Option("--message", "-m", metavar="TEXT",
                                         help="Description shown next to the score on Kaggle.")] = "",
    file: Annotated[Path, typer.Option("--file", metavar="FILE", help="The submission CSV to upload.")] = Path("submissions/submission.csv"),
    competition: Annotated[Optional[str], typer.Option(
        "--competition", metavar="SLUG", help="Competition slug [default: the last `pipeline fetch`].")] = None,
) -> None:
    """Check a submission against data/raw/sample_submission.csv, then upload it to Kaggle."""
    from pipeline import kaggle

    if not message.strip():
        raise PipelineError('pass --message "what changed", shown next to the score on Kaggle')
    slug = kaggle.competition_for(competition, runner.config.data_dir)
    sample = kaggle.sample_submission(runner.config.raw_dir, slug)
    kaggle.check_submission_file(file, sample)  # before connecting: works offline, fails fast
    answer, ref = kaggle.submit(kaggle.connect(), slug, file, message, sample)
    runlog.record_submit(file, slug, message, answer, ref)
    out.print(f"{answer} ({file} to {slug}); scores: `pipeline runs --kaggle` or "
              f"https://www.kaggle.com/competitions/{slug}/submissions", highlight=False, soft_wrap=True, markup=False)


@command("runs")
def runs(
    runner: Runner,
    kaggle_scores: Annotated[bool, typer.Option("--kaggle", help="Also fetch the public scores of the submissions "
                                                "made with `pipeline submit` (needs the kaggle extra and credentials).")] = False,
    last: Annotated[int, typer.Option("--last", "-n", metavar="N", help="Show the last N runs.")] = 30,
) -> None:
    """The run log of this folder: each run-all, train and predict with its settings (those not
    at their default), data hash, validation score (the best marked *), seconds and the
    submission it kept. Read from .pipeline/runs.jsonl."""
    entries = runlog.read()
    done = [e for e in entries if e.get("kind") == "run"]
    submits = [e for e in entries if e.get("kind") == "submit"]
    if not done:
        out.print(f"no runs on record in {runlog.LOG} yet: `pipeline run-all` starts one")
        return
    public = _public_scores(submits) if kaggle_scores else {}
    uploaded = {e["sha256"] for e in submits}
    best = runlog.best(done)
    shown = done[-last:]
    metrics = {e["metric"] for e in shown if "metric" in e}
    one_metric = metrics.pop() if len(metrics) == 1 else ""
    several_data = len({e.get("data") for e in shown}) > 1  # else the data column says nothing
    several_targets = any("targets" in e for e in shown)  # then a column of each target's score
    columns = ["#", "when", "command", "settings", *(["data"] if several_data else []), one_metric or "validation",
               *(["targets"] if several_targets else []), "s", "submission", *(["kaggle"] if submits else [])]
    table = Table(*columns, title=f"runs in {runlog.LOG}", caption="* best validation score")
    for column in table.columns:
        column.no_wrap = column.header not in ("command", "settings", "targets")
    for e in shown:
        mark = ""
        if e.get("status") != "ok":
            score = f"[red]{escape(str(e.get('status', '?')).split(':')[0])}[/]"
        elif "score" in e:
            mark = " *" if best.get(e["metric"]) == e["number"] else ""
            score = f"{'' if one_metric else e['metric'] + ' '}{e['score']:.4f}"
            if "positive" in e:  # which class the probability and the score were for
                score += escape(f" of {e['positive']!r}")
            score += mark
        else:
            score = ""
        submission = e.get("submission", {})
        sha = submission.get("sha256")
        settings = " ".join(f"{name.split('.')[-1]}={value}" for name, value in e.get("settings", {}).items())
        table.add_row(str(e["number"]), e["when"][5:16], e["command"].split()[0], escape(settings),
                      *([e.get("data", "")[:8]] if several_data else []), score,
                      *([", ".join(f"{name} {value:.4f}" for name, value in e.get("targets", {}).items())]
                        if several_targets else []), f"{e['seconds']:.0f}",
                      Path(submission.get("kept", "")).name,
                      *([public.get(sha, "submitted" if sha in uploaded else "")] if submits else []),
                      style="bold" if mark else None)
    out.print(table)


def _public_scores(submits: list[dict[str, Any]]) -> dict[str, str]:
    """The public scores of the submissions on record; offline or without the kaggle extra, a
    one-line warning and none."""
    from pipeline import kaggle

    if not submits:
        err.print("[yellow]warning:[/] no submission on record: upload one with `pipeline submit -m ...`")
        return {}
    try:
        api = kaggle.connect()
        scores = {}
        for slug in dict.fromkeys(e["competition"] for e in submits):
            scores.update(runlog.public_scores([e for e in submits if e["competition"] == slug],
                                               kaggle.submissions(api, slug)))
        return scores
    except PipelineError as exc:
        err.print(f"[yellow]warning:[/] no Kaggle scores: {escape(str(exc))}", highlight=False, soft_wrap=True)
        return {}


def _print_metrics(runner: Runner) -> None:
    record = runner.validation()
    summary = Table("validation", "value", title=f"{record['n_val']} held-out rows")
    summary.add_row(f"[bold]{record['metric']}[/] (the competition's metric)", f"[bold]{record['score']:.4f}[/]")
    for name, value in record.items():  # the task's other scalars, in metrics.json's order
        if isinstance(value, float) and name != "score" and name.replace("_", "") != record["metric"]:
            summary.add_row(name.replace("_", " "), f"{value:.4f}")
    for name, value in record.get("targets", {}).items():
        summary.add_row(f"target {name}: {record['per_target'][name]['metric']}", f"{value:.4f}")
    out.print(summary)
    for name, part in [("", record), *((f"{n}: ", r) for n, r in record.get("per_target", {}).items())]:
        if part.get("leaderboard"):
            out.print(_leaderboard(name, part))
    classes = [str(c) for c in record.get("classes", [])]
    if classes and len(classes) <= 30:
        matrix = Table("true \\ predicted", *classes, "recall", title="confusion matrix")
        for name, row in zip(classes, record["confusion_matrix"]):
            matrix.add_row(name, *(str(v) for v in row), f"{record['recall'][name]:.3f}")
        out.print(matrix)
    out.print(f"[dim]saved {runner.exported('validate')}[/]")


def _leaderboard(name: str, record: dict[str, Any]) -> Table:
    """The candidate models, best first, as metrics.json's `leaderboard` records them."""
    folds = any(row["spread"] is not None for row in record["leaderboard"])
    board = Table("model", f"{record['metric']} ({'out of fold' if folds else 'validation'})", "± over folds",
                  "seconds", "weight", title=f"{name}leaderboard", caption="* kept; weight: in the blend")
    for row in record["leaderboard"]:
        board.add_row(row["model"] + (" *" if row["kept"] else ""), f"{row['score']:.4f}",
                      "" if row["spread"] is None else f"{row['spread']:.4f}",
                      "" if row["seconds"] is None else f"{row['seconds']:.1f}",
                      "" if row.get("weight") is None else f"{row['weight']:.2f}", style="bold" if row["kept"] else None)
    return board


def main() -> None:
    try:
        app(prog_name="pipeline")
    except SystemExit as done:
        if done.code != 130:
            raise
        # Interrupted: everything worth keeping is on disk, so leave without Python's
        # teardown, which can crash (SIGSEGV) under TensorFlow threads an interrupted fit
        # left running.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


if __name__ == "__main__":
    sys.exit(main())
