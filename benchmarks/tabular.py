"""Benchmark: this project against the plain way (and AutoGluon) on Kaggle-style tabular competitions.

For each development competition of `benchmarks/tabular_data.py` (binary, multiclass, regression
and two binary targets at once; accuracy, AUC, log loss, RMSE, RMSLE and MAP@3), written into a
fresh temporary folder in Kaggle's layout (`data/raw/{train,test,sample_submission}.csv`, the
answers kept aside), it times and scores on the hidden test answers:

  plain      what one would write by hand: pandas `read_csv`, the id column dropped, text and
             True/False columns as pandas `category` (with train.csv's categories in both files;
             text columns with more distinct values than HistGradientBoosting's 255 bins are
             dropped, e.g. the cars' `Name`), text columns holding dates (over 95% of the first
             200 values parsed by `pd.to_datetime(format="ISO8601")`, else with the format
             inferred; utc=True, so a trailing Z is UTC) turned into year, month, day, hour,
             dayofweek and days since 1970 (before, date columns were DROPPED: every competition
             with a date now scores differently; `--plain-drop-dates` gives the old behaviour),
             and scikit-learn's `HistGradientBoostingClassifier/Regressor(categorical_features=
             "from_dtype", random_state=0)` fitted on all of train.csv, one a target, predicting
             what the metric needs (labels; the probability of the spec's positive class, found
             in `classes_`; each class's probability; the 3 most probable classes, space-separated,
             for MAP@3; numbers, clipped at 0 for RMSLE). The seconds cover reading, fitting and
             predicting.
  pipeline   `python -m pipeline run-all --quiet` then `python -m pipeline predict --out
             submissions/sub.csv --quiet` in the competition folder, the submission scored the
             same way; `val` is the validation score the pipeline reports in reports/metrics.json
             (its "score" where its "metric" names the competition's, else a numeric key named
             like the metric), when there is one. A failing command puts the last line of its
             stderr at the end of the row, and the benchmark goes on. The notes give its
             learners' leaderboard from metrics.json: each learner's out-of-fold score, best
             first, the kept one starred, and each learner's weight in a kept blend.
  autogluon  with `--autogluon-python PATH` (the python of a venv holding autogluon.tabular):
             `TabularPredictor(label, eval_metric).fit(train without id, time_limit=120,
             presets="medium_quality")` in that python (RMSLE as a custom scorer; AutoGluon has
             none built in; log loss for MAP@3; one predictor a target, sharing the time limit),
             its predictions scored the same way.

Scoring: AUC scores the probability column against answer == the spec's positive class (1, or
"Chinstrap", "bad"); MAP@3 is the mean over rows of 1/rank of the answer among a cell's first 3
space-separated labels (0 if absent); with several targets (`auc x2`) the score is the mean of the
targets' AUCs, one probability column each, and the notes give each target's.

    .venv/bin/python benchmarks/tabular.py                          # every competition
    .venv/bin/python benchmarks/tabular.py --only titanic_cars,diabetes
    .venv/bin/python benchmarks/tabular.py --skip-pipeline --autogluon-python /work/agvenv/bin/python
    .venv/bin/python benchmarks/tabular.py --pipeline-args "--preset fast" --keep /tmp/tabular
    .venv/bin/python benchmarks/tabular.py --skip-pipeline --plain-drop-dates   # the plain way as before

Arrows after the metric say which way is better (^ higher, v lower).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn import metrics as skm
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from tabular_data import COMPETITIONS, make  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HIGHER_IS_BETTER = {"accuracy": True, "auc": True, "logloss": False, "rmse": False, "rmsle": False,
                    "map@3": True, "f1": True}
# Keys of reports/metrics.json that name each metric (compared lower-case, without _, - and spaces).
METRIC_KEYS = {"accuracy": ("accuracy", "acc"), "auc": ("auc", "rocauc"),
               "logloss": ("logloss", "crossentropy"), "rmse": ("rmse",), "rmsle": ("rmsle",),
               "map@3": ("map@3", "map3", "mapat3"), "f1": ("f1", "f1score")}
MAX_CATEGORIES = 255  # HistGradientBoosting's max_bins: more categories than this are an error
EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


# -- scoring -----------------------------------------------------------------------------------

def _is_positive(truth: pd.Series, positive) -> np.ndarray:
    """Whether each answer is the `positive` class: as numbers where both are numbers, else as text."""
    numbers = pd.to_numeric(truth, errors="coerce")
    if isinstance(positive, (int, float)) and numbers.notna().all():
        return (numbers == positive).to_numpy()
    return (truth.astype(str) == str(positive)).to_numpy()


def map_at_3(truth: pd.Series, pred) -> float:
    """Mean over rows of 1/rank of the true label among the first 3 space-separated labels (0 if absent)."""
    total = 0.0
    for answer, guesses in zip(truth.astype(str), pd.Series(pred).fillna("").astype(str)):
        top = guesses.split()[:3]
        total += 1 / (top.index(answer) + 1) if answer in top else 0.0
    return total / len(truth)


def score(metric: str, truth: pd.Series, pred, classes: list[str] | None = None, positive=1) -> float:
    """`metric` of predictions `pred` (a column, or a matrix of class probabilities) against `truth`.

    AUC scores `pred` as the probability of the `positive` class; MAP@3 scores cells of up to
    three space-separated labels, best first."""
    if metric == "accuracy":
        a, b = pd.to_numeric(truth, errors="coerce"), pd.to_numeric(pd.Series(pred), errors="coerce")
        if a.notna().all() and b.notna().all():
            return float(np.mean(a.to_numpy(float) == b.to_numpy(float)))
        return float(np.mean(truth.astype(str).to_numpy() == pd.Series(pred).astype(str).to_numpy()))
    if metric == "f1":  # of the positive class
        return float(skm.f1_score(_is_positive(truth, positive), _is_positive(pd.Series(pred), positive)))
    if metric == "auc":
        return float(skm.roc_auc_score(_is_positive(truth, positive), np.asarray(pred, float)))
    if metric == "map@3":
        return map_at_3(truth, pred)
    if metric == "logloss":
        p = np.clip(np.asarray(pred, float), 1e-15, 1)
        return float(skm.log_loss(truth.astype(str), p / p.sum(axis=1, keepdims=True), labels=classes))
    if metric == "rmse":
        return float(math.sqrt(skm.mean_squared_error(truth, np.asarray(pred, float))))
    if metric == "rmsle":
        return float(math.sqrt(skm.mean_squared_log_error(truth, np.clip(np.asarray(pred, float), 0, None))))
    raise ValueError(metric)


def score_targets(spec: dict, labels: pd.DataFrame, pred) -> dict[str, float]:
    """Each target's score of `pred` (with several targets, a mapping target -> column) against `labels`."""
    if len(spec["targets"]) == 1:
        return {spec["target"]: score(spec["metric"], labels[spec["target"]], pred, spec["classes"],
                                      spec["positive"])}
    return {t: score(spec["metric"], labels[t], pred[t], positive=spec["positive"]) for t in spec["targets"]}


def _overall(scores: dict[str, float]) -> float:
    """The competition's score: the one target's, or the mean over several targets."""
    return float(np.mean(list(scores.values())))


def score_submission(path: Path, spec: dict, labels: pd.DataFrame) -> dict[str, float]:
    """Score a submission CSV against the hidden answers, matching rows by id; each target's score."""
    sub = pd.read_csv(path)
    id_column = spec["id"] if spec["id"] in sub.columns else sub.columns[0]
    merged = labels.merge(sub.rename(columns={id_column: "_id"}), left_on=spec["id"],
                          right_on="_id", how="left", suffixes=("", "_pred"))
    if spec["metric"] == "logloss":
        missing = [c for c in spec["classes"] if c not in sub.columns]
        if missing:
            raise ValueError(f"submission lacks class columns {missing}")
        pred = merged[spec["classes"]].to_numpy(float)
    elif len(spec["targets"]) > 1:
        missing = [t for t in spec["targets"] if t not in sub.columns]
        if missing:
            raise ValueError(f"submission lacks target columns {missing}")
        pred = {t: merged[t + "_pred"] for t in spec["targets"]}
    else:
        column = spec["target"] if spec["target"] in sub.columns else sub.columns[1]
        pred = merged[column + "_pred" if column == spec["target"] else column]
    for column in pred.values() if isinstance(pred, dict) else [pred] if isinstance(pred, pd.Series) else []:
        if column.isna().any():
            raise ValueError(f"{int(column.isna().sum())} test ids without a prediction")
    return score_targets(spec, merged, pred)


# -- the plain way -----------------------------------------------------------------------------

def _date_format(column: pd.Series) -> str | None:
    """How pandas parses over 95% of the column's first 200 values as dates ("ISO8601" or
    "inferred"), or None when it is no date column."""
    values = column.dropna().astype(str).head(200)
    if values.empty:
        return None
    for fmt in ("ISO8601", "inferred"):
        if _to_datetime(values, fmt).notna().mean() > 0.95:
            return fmt
    return None


def _to_datetime(values: pd.Series, fmt: str) -> pd.Series:
    """`values` as UTC moments (a trailing Z is UTC, no zone is taken as UTC), empty where unparsed."""
    with warnings.catch_warnings():  # "Could not infer format": dateutil then parses value by value
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(values, format=None if fmt == "inferred" else fmt, errors="coerce", utc=True)


def _date_features(column: pd.Series, fmt: str) -> pd.DataFrame:
    """Year, month, day, hour, day of week and days since 1970 of a date column, named `column_*`."""
    moments = _to_datetime(column.astype("string"), fmt)
    return pd.DataFrame({"year": moments.dt.year, "month": moments.dt.month, "day": moments.dt.day,
                         "hour": moments.dt.hour, "dayofweek": moments.dt.day_of_week,
                         "days": (moments - EPOCH) / pd.Timedelta(days=1)},
                        index=column.index).astype(float).add_prefix(f"{column.name}_")


def _as_category(column: pd.Series, categories: list[str]) -> pd.Categorical:
    """`column` as text categories (True/False as "True"/"False"); values outside `categories` empty."""
    text = column.map(lambda v: str(v) if pd.notna(v) else None)
    return pd.Categorical(text.where(text.isin(categories)), categories=categories)


def _features(train: pd.DataFrame, test: pd.DataFrame, parse_dates: bool
              ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """train and test as HistGradientBoosting takes them, and notes on what became of text columns."""
    notes = []
    for name in list(train.columns):
        col = train[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            continue
        fmt = None if pd.api.types.is_bool_dtype(col) else _date_format(col)
        if fmt and parse_dates:
            train = train.drop(columns=name).join(_date_features(col, fmt))
            test = test.drop(columns=name).join(_date_features(test[name], fmt))
            notes.append(f"parsed {name} ({fmt} date)")
            continue
        if fmt:
            notes.append(f"dropped {name} (date)")
        elif col.nunique() > MAX_CATEGORIES:
            notes.append(f"dropped {name} ({col.nunique()} values)")
        else:
            categories = sorted(col.dropna().astype(str).unique())
            train[name], test[name] = _as_category(col, categories), _as_category(test[name], categories)
            continue
        train, test = train.drop(columns=name), test.drop(columns=name)
    return train, test, notes


def _classify(train: pd.DataFrame, y: pd.Series, test: pd.DataFrame, spec: dict):
    """What the metric needs of a HistGradientBoostingClassifier fitted on (train, y): labels, the
    positive class's probability, the top 3 labels space-separated, or each class's probability."""
    metric = spec["metric"]
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(train, y.astype(str) if metric in ("logloss", "map@3") else y)
    if metric == "accuracy":
        return model.predict(test)
    classes = [str(c) for c in model.classes_]
    proba = model.predict_proba(test)
    if metric == "auc":
        return proba[:, classes.index(str(spec["positive"]))]
    if metric == "map@3":
        top = np.argsort(-proba, axis=1, kind="stable")[:, :3]
        return pd.Series([" ".join(classes[i] for i in row) for row in top])
    return proba[:, [classes.index(c) for c in spec["classes"]]]


def plain(folder: Path, spec: dict, parse_dates: bool = True) -> dict:
    """HistGradientBoosting on category-typed text columns and date parts, fitted on all of
    train.csv (one model a target)."""
    started = time.perf_counter()
    raw = folder / "data" / "raw"
    train, test = pd.read_csv(raw / "train.csv"), pd.read_csv(raw / "test.csv")
    targets = spec["targets"]
    y = train[targets]
    ids = test[spec["id"]]
    train, test = train.drop(columns=[spec["id"], *targets]), test.drop(columns=spec["id"])
    train, test, notes = _features(train, test, parse_dates)
    if spec["kind"] == "regression":
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        model.fit(train, y[spec["target"]])
        pred = model.predict(test)
        if spec["metric"] == "rmsle":
            pred = np.clip(pred, 0, None)
    elif len(targets) == 1:
        pred = _classify(train, y[spec["target"]], test, spec)
    else:
        pred = {t: _classify(train, y[t], test, spec) for t in targets}
    seconds = time.perf_counter() - started
    labels = pd.read_csv(folder / "test_labels.csv")
    assert (labels[spec["id"]].to_numpy() == ids.to_numpy()).all()
    scores = score_targets(spec, labels, pred)
    return {"score": _overall(scores), "scores": scores, "seconds": seconds, "note": ", ".join(notes)}


# -- this project ------------------------------------------------------------------------------

def _last_line(text: str) -> str:
    """The last line of `text` that says something (not a box border of rich's error panels)."""
    for line in reversed(text.splitlines()):
        line = line.strip().strip("│┃|").strip()
        if any(ch.isalnum() for ch in line):
            return line
    return "(no stderr)"


def _names(key, metric: str) -> bool:
    """Whether a key or metric name of metrics.json ("roc_auc", "MAP@3", "val_rmse") names `metric`."""
    plain_key = str(key).lower().replace("_", "").replace("-", "").replace(" ", "")
    if metric == "rmse" and "rmsle" in plain_key:
        return False
    return any(plain_key.endswith(k) or plain_key.startswith(k) for k in METRIC_KEYS[metric])


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _find_metric(data, metric: str, prefix: str = "") -> tuple[str, float] | None:
    """The first numeric entry of metrics.json whose key names `metric`."""
    if isinstance(data, dict):
        for key, value in data.items():
            if _number(value) and _names(key, metric):
                return prefix + str(key), float(value)
        for key, value in data.items():
            found = _find_metric(value, metric, f"{prefix}{key}.")
            if found:
                return found
    return None


def run_pipeline(folder: Path, spec: dict, extra: list[str], timeout: float) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    commands = [["run-all", "--quiet", *extra],
                ["predict", "--out", "submissions/sub.csv", "--quiet", *extra]]
    started = time.perf_counter()
    for args in commands:
        try:
            done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=folder, env=env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"seconds": time.perf_counter() - started,
                    "error": f"{args[0]}: timed out after {timeout:.0f}s"}
        if done.returncode != 0:
            return {"seconds": time.perf_counter() - started,
                    "error": f"{args[0]} exit {done.returncode}: {_last_line(done.stderr or done.stdout)}"}
    seconds = time.perf_counter() - started
    result: dict = {"seconds": seconds}
    labels = pd.read_csv(folder / "test_labels.csv")
    try:
        result["scores"] = score_submission(folder / "submissions" / "sub.csv", spec, labels)
        result["score"] = _overall(result["scores"])
    except Exception as error:  # a submission we cannot score is a result too
        result["error"] = f"scoring sub.csv: {type(error).__name__}: {error}"
    metrics_file = folder / "reports" / "metrics.json"
    if metrics_file.exists():
        try:
            reported = json.loads(metrics_file.read_text())
        except (ValueError, OSError):
            reported = {}
        if not isinstance(reported, dict):
            reported = {}
        # the pipeline scored the competition's own metric (the mean of the targets' where several)
        if _names(reported.get("metric", ""), spec["metric"]) and _number(reported.get("score")):
            found = ("score", float(reported["score"]))
        else:
            found = _find_metric(reported, spec["metric"])
        result["val_metric"] = str(reported.get("metric", ""))
        if found:
            result["val_key"], result["val"] = found
        if isinstance(reported.get("targets"), dict):
            result["val_targets"] = {str(k): float(v) for k, v in reported["targets"].items() if _number(v)}
        if reported.get("leaderboard"):
            result["leaderboard"] = _board(reported["leaderboard"])
    return result


def _board(rows: list[dict]) -> str:
    """The pipeline's leaderboard in one line: each learner's out-of-fold score, best first, the
    kept one starred, and the learners' weights in a kept blend."""
    cells = [f"{r['model']}{'*' if r.get('kept') else ''} {_fmt(r['score'])}"
             + (f" (w {r['weight']:.2f})" if r.get("weight") is not None else "") for r in rows]
    return "learners: " + ", ".join(cells)


# -- AutoGluon ---------------------------------------------------------------------------------

AUTOGLUON_SCRIPT = r'''
import json, sys
import numpy as np
import pandas as pd
from autogluon.tabular import TabularPredictor


def rmsle(y_true, y_pred):
    return float(np.sqrt(np.mean((np.log1p(y_true) - np.log1p(np.clip(y_pred, 0, None))) ** 2)))


args = json.loads(sys.argv[1])
train = pd.read_csv(args["train"]).drop(columns=args["id"])
test = pd.read_csv(args["test"])
targets, metric = args["targets"], args["metric"]
if metric == "rmsle":
    from autogluon.core.metrics import make_scorer
    eval_metric = make_scorer("rmsle", rmsle, optimum=0, greater_is_better=False)
else:  # MAP@3 has no scorer of its own: log loss ranks the probabilities it needs
    eval_metric = {"accuracy": "accuracy", "auc": "roc_auc", "logloss": "log_loss", "map@3": "log_loss",
                   "rmse": "root_mean_squared_error", "f1": "f1"}[metric]
features = test.drop(columns=args["id"])
sub = test[[args["id"]]].copy()
best = []
for label in targets:  # one predictor a target, sharing the time limit
    predictor = TabularPredictor(
        label=label, eval_metric=eval_metric, problem_type=args["kind"], verbosity=args["verbosity"],
        path=args["path"] + ("/" + label if len(targets) > 1 else "")).fit(
        train.drop(columns=[t for t in targets if t != label]),
        time_limit=args["time_limit"] / len(targets), presets=args["presets"])
    best.append(predictor.model_best)
    if metric in ("auc", "logloss", "map@3"):
        proba = predictor.predict_proba(features)
        proba.columns = [str(c) for c in proba.columns]
    if metric == "auc":
        sub[label] = proba[str(args["positive"])].to_numpy()
    elif metric == "logloss":
        for c in args["classes"]:
            sub[c] = proba[c].to_numpy()
    elif metric == "map@3":
        top = np.argsort(-proba.to_numpy(), axis=1, kind="stable")[:, :3]
        sub[label] = [" ".join(proba.columns[i] for i in row) for row in top]
    else:
        pred = predictor.predict(features).to_numpy()
        sub[label] = np.clip(pred, 0, None) if metric == "rmsle" else pred
sub.to_csv(args["out"], index=False)
print(json.dumps({"best": ", ".join(best)}))
'''


def run_autogluon(folder: Path, spec: dict, python: str, time_limit: int, presets: str,
                  verbosity: int) -> dict:
    script = folder / "autogluon_fit.py"
    script.write_text(AUTOGLUON_SCRIPT)
    raw = folder / "data" / "raw"
    args = {"train": str(raw / "train.csv"), "test": str(raw / "test.csv"), "id": spec["id"],
            "targets": spec["targets"], "metric": spec["metric"], "kind": spec["kind"],
            "classes": spec["classes"], "positive": spec["positive"],
            "path": str(folder / "autogluon_models"),
            "out": str(folder / "autogluon_sub.csv"), "time_limit": time_limit,
            "presets": presets, "verbosity": verbosity}
    started = time.perf_counter()
    try:
        done = subprocess.run([python, str(script), json.dumps(args)], cwd=folder,
                              capture_output=True, text=True, timeout=time_limit * 3 + 300)
    except subprocess.TimeoutExpired:
        return {"seconds": time.perf_counter() - started, "error": "autogluon: timed out"}
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"seconds": seconds, "error": f"autogluon exit {done.returncode}: {_last_line(done.stderr)}"}
    result: dict = {"seconds": seconds}
    try:
        result["best"] = json.loads(done.stdout.strip().splitlines()[-1])["best"]
    except (ValueError, IndexError, KeyError):
        pass
    try:
        result["scores"] = score_submission(folder / "autogluon_sub.csv", spec,
                                            pd.read_csv(folder / "test_labels.csv"))
        result["score"] = _overall(result["scores"])
    except Exception as error:
        result["error"] = f"autogluon scoring: {type(error).__name__}: {error}"
    return result


# -- the table ---------------------------------------------------------------------------------

def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def _metric_label(spec: dict) -> str:
    """The metric and which way is better: "auc ^", "rmse v"; "auc x2 ^" for the mean over two targets."""
    several = f" x{len(spec['targets'])}" if len(spec["targets"]) > 1 else ""
    return f"{spec['metric']}{several} {'^' if HIGHER_IS_BETTER[spec['metric']] else 'v'}"


def _per_target(scores: dict[str, float] | None) -> str:
    return " ".join(f"{t} {_fmt(v)}" for t, v in (scores or {}).items()) if len(scores or {}) > 1 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated competitions [default: all]")
    parser.add_argument("--skip-pipeline", action="store_true", help="leave out this project's run")
    parser.add_argument("--plain-drop-dates", action="store_true",
                        help="the plain way drops date columns instead of parsing them (as before)")
    parser.add_argument("--pipeline-args", default="",
                        help='extra options for run-all and predict, e.g. "--preset fast"')
    parser.add_argument("--pipeline-timeout", type=float, default=1800,
                        help="seconds each pipeline command may run [default: 1800]")
    parser.add_argument("--autogluon-python", help="python of a venv with autogluon.tabular")
    parser.add_argument("--autogluon-time-limit", type=int, default=120)
    parser.add_argument("--autogluon-presets", default="medium_quality")
    parser.add_argument("--autogluon-verbosity", type=int, default=0)
    parser.add_argument("--keep", type=Path,
                        help="write the competitions under this folder and keep them [default: a temp folder]")
    args = parser.parse_args(argv)

    names = list(COMPETITIONS) if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in COMPETITIONS]
    if unknown:
        parser.error(f"unknown competitions {unknown}; choose from {', '.join(COMPETITIONS)}")
    extra = shlex.split(args.pipeline_args)
    with_ag = bool(args.autogluon_python)

    print(machine())
    print(f"python {platform.python_version()}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}, "
          f"numpy {np.__version__}")
    print("plain: HistGradientBoosting(categorical_features='from_dtype'), text columns as category, "
          f"date text columns {'dropped' if args.plain_drop_dates else 'as year/month/day/hour/weekday/days'}")
    if args.skip_pipeline:
        print("pipeline: skipped (--skip-pipeline)")
    else:
        print(f"pipeline: python -m pipeline run-all / predict --quiet {' '.join(extra)}".rstrip())
    if with_ag:
        print(f"autogluon: {args.autogluon_python}, presets={args.autogluon_presets}, "
              f"time_limit={args.autogluon_time_limit}s")
    else:
        print("autogluon: skipped (no --autogluon-python)")
    print()
    header = f"{'competition':22s} {'rows':>11s} {'cols':>4s} {'metric':9s} {'plain':>9s} {'s':>6s}"
    if not args.skip_pipeline:
        header += f" {'pipeline':>9s} {'s':>6s} {'val':>9s}"
    if with_ag:
        header += f" {'autogluon':>9s} {'s':>6s}"
    header += "  notes"
    print(header)
    print("-" * len(header), flush=True)

    failures = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"tabular_{name}_") as tmp:
            folder = (args.keep / name) if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            spec = make(name, folder)
            notes = []
            try:
                base = plain(folder, spec, parse_dates=not args.plain_drop_dates)
            except Exception as error:  # keep going: the table is the point
                base = {"seconds": None}
                notes.append(f"plain failed: {type(error).__name__}: {error}")
            for note in (base.get("note"), _per_target(base.get("scores"))):
                if note:
                    notes.append("plain " + note)
            rows = f"{spec['train_rows']}+{spec['test_rows']}"
            row = (f"{name:22s} {rows:>11s} {spec['columns']:>4d} "
                   f"{_metric_label(spec):9s} {_fmt(base.get('score')):>9s} {_secs(base['seconds']):>6s}")
            if not args.skip_pipeline:
                ours = run_pipeline(folder, spec, extra, args.pipeline_timeout)
                if "error" in ours:
                    failures += 1
                    notes.append("pipeline " + ours["error"])
                if ours.get("val_metric") and not _names(ours["val_metric"], spec["metric"]):
                    notes.append(f"pipeline chose {ours['val_metric']}")
                if _per_target(ours.get("scores")):
                    val = _per_target(ours.get("val_targets"))
                    notes.append(f"pipeline {_per_target(ours['scores'])}" + (f" (val {val})" if val else ""))
                if ours.get("leaderboard"):
                    notes.append(ours["leaderboard"])
                cell = _fmt(ours.get("score")) if "score" in ours else "FAIL"
                row += f" {cell:>9s} {_secs(ours['seconds']):>6s} {_fmt(ours.get('val')):>9s}"
            if with_ag:
                ag = run_autogluon(folder, spec, args.autogluon_python, args.autogluon_time_limit,
                                   args.autogluon_presets, args.autogluon_verbosity)
                if "error" in ag:
                    notes.append(ag["error"])
                elif ag.get("best"):
                    notes.append(f"ag best {ag['best']}")
                row += f" {_fmt(ag.get('score')) if 'score' in ag else 'FAIL':>9s} {_secs(ag['seconds']):>6s}"
            print(row + ("  " + "; ".join(notes) if notes else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
