"""Benchmark: this project against the plain way (and AutoGluon) on Kaggle-style tabular competitions.

For each development competition of `benchmarks/tabular_data.py` (binary, multiclass and
regression; accuracy, AUC, log loss, RMSE and RMSLE), written into a fresh temporary folder in
Kaggle's layout (`data/raw/{train,test,sample_submission}.csv`, the answers kept aside), it times
and scores on the hidden test answers:

  plain      what one would write by hand: pandas `read_csv`, the id column dropped, text and
             True/False columns as pandas `category` (with train.csv's categories in both files;
             text columns holding dates are DROPPED, as are text columns with more distinct values
             than HistGradientBoosting's 255 bins, e.g. the cars' `Name`), and scikit-learn's
             `HistGradientBoostingClassifier/Regressor(categorical_features="from_dtype",
             random_state=0)` fitted on all of train.csv, predicting what the metric needs
             (labels, the positive class's probability, each class's probability, numbers;
             clipped at 0 for RMSLE). The seconds cover reading, fitting and predicting.
  pipeline   `python -m pipeline run-all --quiet` then `python -m pipeline predict --out
             submissions/sub.csv --quiet` in the competition folder, the submission scored the
             same way; `val` is the validation score the pipeline reports in reports/metrics.json
             (a numeric key named like the metric), when there is one. A failing command puts the
             last line of its stderr at the end of the row, and the benchmark goes on.
  autogluon  with `--autogluon-python PATH` (the python of a venv holding autogluon.tabular):
             `TabularPredictor(label, eval_metric).fit(train without id, time_limit=120,
             presets="medium_quality")` in that python (RMSLE as a custom scorer; AutoGluon has
             none built in), its predictions scored the same way.

    .venv/bin/python benchmarks/tabular.py                          # every competition
    .venv/bin/python benchmarks/tabular.py --only titanic_cars,diabetes
    .venv/bin/python benchmarks/tabular.py --skip-pipeline --autogluon-python /work/agvenv/bin/python
    .venv/bin/python benchmarks/tabular.py --pipeline-args "--preset fast" --keep /tmp/tabular

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
HIGHER_IS_BETTER = {"accuracy": True, "auc": True, "logloss": False, "rmse": False, "rmsle": False}
# Keys of reports/metrics.json that name each metric (compared lower-case, without _ and -).
METRIC_KEYS = {"accuracy": ("accuracy", "acc"), "auc": ("auc", "rocauc"),
               "logloss": ("logloss", "crossentropy"), "rmse": ("rmse",), "rmsle": ("rmsle",)}
MAX_CATEGORIES = 255  # HistGradientBoosting's max_bins: more categories than this are an error


# -- scoring -----------------------------------------------------------------------------------

def score(metric: str, truth: pd.Series, pred, classes: list[str] | None = None) -> float:
    """`metric` of predictions `pred` (a column, or a matrix of class probabilities) against `truth`."""
    if metric == "accuracy":
        a, b = pd.to_numeric(truth, errors="coerce"), pd.to_numeric(pd.Series(pred), errors="coerce")
        if a.notna().all() and b.notna().all():
            return float(np.mean(a.to_numpy(float) == b.to_numpy(float)))
        return float(np.mean(truth.astype(str).to_numpy() == pd.Series(pred).astype(str).to_numpy()))
    if metric == "auc":
        return float(skm.roc_auc_score(truth, np.asarray(pred, float)))
    if metric == "logloss":
        p = np.clip(np.asarray(pred, float), 1e-15, 1)
        return float(skm.log_loss(truth.astype(str), p / p.sum(axis=1, keepdims=True), labels=classes))
    if metric == "rmse":
        return float(math.sqrt(skm.mean_squared_error(truth, np.asarray(pred, float))))
    if metric == "rmsle":
        return float(math.sqrt(skm.mean_squared_log_error(truth, np.clip(np.asarray(pred, float), 0, None))))
    raise ValueError(metric)


def score_submission(path: Path, spec: dict, labels: pd.DataFrame) -> float:
    """Score a submission CSV against the hidden answers, matching rows by id."""
    sub = pd.read_csv(path)
    id_column = spec["id"] if spec["id"] in sub.columns else sub.columns[0]
    merged = labels.merge(sub.rename(columns={id_column: "_id"}), left_on=spec["id"],
                          right_on="_id", how="left", suffixes=("", "_pred"))
    if spec["metric"] == "logloss":
        missing = [c for c in spec["classes"] if c not in sub.columns]
        if missing:
            raise ValueError(f"submission lacks class columns {missing}")
        pred = merged[spec["classes"]].to_numpy(float)
    else:
        column = spec["target"] if spec["target"] in sub.columns else sub.columns[1]
        pred = merged[column + "_pred" if column == spec["target"] else column]
        if pred.isna().any():
            raise ValueError(f"{int(pred.isna().sum())} test ids without a prediction")
    return score(spec["metric"], merged[spec["target"]], pred, spec["classes"])


# -- the plain way -----------------------------------------------------------------------------

def _is_date(column: pd.Series) -> bool:
    values = column.dropna().astype(str)
    if values.empty:
        return False
    parsed = pd.to_datetime(values.head(200), format="%Y-%m-%d", errors="coerce")
    return bool(parsed.notna().mean() > 0.95)


def _as_category(column: pd.Series, categories: list[str]) -> pd.Categorical:
    """`column` as text categories (True/False as "True"/"False"); values outside `categories` empty."""
    text = column.map(lambda v: str(v) if pd.notna(v) else None)
    return pd.Categorical(text.where(text.isin(categories)), categories=categories)


def plain(folder: Path, spec: dict) -> dict:
    """HistGradientBoosting on category-typed text columns, fitted on all of train.csv."""
    started = time.perf_counter()
    raw = folder / "data" / "raw"
    train, test = pd.read_csv(raw / "train.csv"), pd.read_csv(raw / "test.csv")
    y = train.pop(spec["target"])
    ids = test[spec["id"]]
    train, test = train.drop(columns=spec["id"]), test.drop(columns=spec["id"])
    dropped = []
    for name in list(train.columns):
        col = train[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            continue
        if not pd.api.types.is_bool_dtype(col) and _is_date(col):
            dropped.append(f"{name} (date)")
        elif col.nunique() > MAX_CATEGORIES:
            dropped.append(f"{name} ({col.nunique()} values)")
        else:
            categories = sorted(col.dropna().astype(str).unique())
            train[name], test[name] = _as_category(col, categories), _as_category(test[name], categories)
            continue
        train, test = train.drop(columns=name), test.drop(columns=name)
    kind, metric = spec["kind"], spec["metric"]
    if kind == "regression":
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        model.fit(train, y)
        pred = model.predict(test)
        if metric == "rmsle":
            pred = np.clip(pred, 0, None)
    else:
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
        model.fit(train, y if metric != "logloss" else y.astype(str))
        if metric == "accuracy":
            pred = model.predict(test)
        elif metric == "auc":
            pred = model.predict_proba(test)[:, list(model.classes_).index(1)]
        else:
            proba = model.predict_proba(test)
            order = [list(map(str, model.classes_)).index(c) for c in spec["classes"]]
            pred = proba[:, order]
    seconds = time.perf_counter() - started
    labels = pd.read_csv(folder / "test_labels.csv")
    assert (labels[spec["id"]].to_numpy() == ids.to_numpy()).all()
    return {"score": score(metric, labels[spec["target"]], pred, spec["classes"]),
            "seconds": seconds, "note": ("dropped " + ", ".join(dropped)) if dropped else ""}


# -- this project ------------------------------------------------------------------------------

def _last_line(text: str) -> str:
    """The last line of `text` that says something (not a box border of rich's error panels)."""
    for line in reversed(text.splitlines()):
        line = line.strip().strip("│┃|").strip()
        if any(ch.isalnum() for ch in line):
            return line
    return "(no stderr)"


def _find_metric(data, metric: str, prefix: str = "") -> tuple[str, float] | None:
    """The first numeric entry of metrics.json whose key names `metric`."""
    if isinstance(data, dict):
        for key, value in data.items():
            plain_key = str(key).lower().replace("_", "").replace("-", "")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and any(
                    plain_key.endswith(k) or plain_key == k or plain_key.startswith(k)
                    for k in METRIC_KEYS[metric]):
                if metric == "rmse" and "rmsle" in plain_key:
                    continue
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
        result["score"] = score_submission(folder / "submissions" / "sub.csv", spec, labels)
    except Exception as error:  # a submission we cannot score is a result too
        result["error"] = f"scoring sub.csv: {type(error).__name__}: {error}"
    metrics_file = folder / "reports" / "metrics.json"
    if metrics_file.exists():
        try:
            reported = json.loads(metrics_file.read_text())
        except (ValueError, OSError):
            reported = {}
        if reported.get("metric") == spec["metric"]:  # the pipeline scored the competition's own metric
            found = ("score", float(reported["score"]))
        else:
            found = _find_metric(reported, spec["metric"])
        result["val_metric"] = reported.get("metric", "")
        if found:
            result["val_key"], result["val"] = found
    return result


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
label, metric = args["target"], args["metric"]
if metric == "rmsle":
    from autogluon.core.metrics import make_scorer
    eval_metric = make_scorer("rmsle", rmsle, optimum=0, greater_is_better=False)
else:
    eval_metric = {"accuracy": "accuracy", "auc": "roc_auc", "logloss": "log_loss",
                   "rmse": "root_mean_squared_error"}[metric]
predictor = TabularPredictor(label=label, eval_metric=eval_metric, problem_type=args["kind"],
                             path=args["path"], verbosity=args["verbosity"]).fit(
    train, time_limit=args["time_limit"], presets=args["presets"])
features = test.drop(columns=args["id"])
sub = test[[args["id"]]].copy()
if metric == "auc":
    sub[label] = predictor.predict_proba(features)[1].to_numpy()
elif metric == "logloss":
    proba = predictor.predict_proba(features)
    proba.columns = [str(c) for c in proba.columns]
    for c in args["classes"]:
        sub[c] = proba[c].to_numpy()
else:
    pred = predictor.predict(features).to_numpy()
    sub[label] = np.clip(pred, 0, None) if metric == "rmsle" else pred
sub.to_csv(args["out"], index=False)
print(json.dumps({"best": predictor.model_best}))
'''


def run_autogluon(folder: Path, spec: dict, python: str, time_limit: int, presets: str,
                  verbosity: int) -> dict:
    script = folder / "autogluon_fit.py"
    script.write_text(AUTOGLUON_SCRIPT)
    raw = folder / "data" / "raw"
    args = {"train": str(raw / "train.csv"), "test": str(raw / "test.csv"), "id": spec["id"],
            "target": spec["target"], "metric": spec["metric"], "kind": spec["kind"],
            "classes": spec["classes"], "path": str(folder / "autogluon_models"),
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
        result["score"] = score_submission(folder / "autogluon_sub.csv", spec,
                                           pd.read_csv(folder / "test_labels.csv"))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated competitions [default: all]")
    parser.add_argument("--skip-pipeline", action="store_true", help="leave out this project's run")
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
          "date text columns dropped")
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
    header = f"{'competition':17s} {'rows':>11s} {'cols':>4s} {'metric':9s} {'plain':>9s} {'s':>6s}"
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
                base = plain(folder, spec)
            except Exception as error:  # keep going: the table is the point
                base = {"seconds": None}
                notes.append(f"plain failed: {type(error).__name__}: {error}")
            if base.get("note"):
                notes.append("plain " + base["note"])
            arrow = "^" if HIGHER_IS_BETTER[spec["metric"]] else "v"
            rows = f"{spec['train_rows']}+{spec['test_rows']}"
            row = (f"{name:17s} {rows:>11s} {spec['columns']:>4d} "
                   f"{spec['metric'] + ' ' + arrow:9s} {_fmt(base.get('score')):>9s} {_secs(base['seconds']):>6s}")
            if not args.skip_pipeline:
                ours = run_pipeline(folder, spec, extra, args.pipeline_timeout)
                if "error" in ours:
                    failures += 1
                    notes.append("pipeline " + ours["error"])
                if ours.get("val_metric") and ours["val_metric"] != spec["metric"]:
                    notes.append(f"pipeline chose {ours['val_metric']}")
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
