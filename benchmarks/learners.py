"""Benchmark: which model families are worth a place in a tabular pipeline, out of fold.

For each development competition of `benchmarks/tabular_data.py` (all but `two_targets_auc`),
written into a fresh temporary folder, it builds `benchmarks/tabular.py`'s plain feature frame
from train.csv and test.csv (the id dropped, text and True/False columns as pandas `category`,
text columns with over 255 values dropped, date columns as year/month/day/hour/weekday/days),
makes 5 folds (StratifiedKFold for classification, KFold for regression; shuffled, seed 0) and,
for each learner, predicts every train.csv row from the model that did not see it (out of fold,
OOF) and test.csv as the mean of the 5 fold models' predictions. Learners (seeded, 2 threads):

  hgb     scikit-learn HistGradientBoosting, learning_rate 0.05, max_iter 1000, native
          categories, early stopping (n_iter_no_change 30) on the fold's held-out rows
  lgbm    LightGBM (AutoGluon's defaults: learning_rate 0.05, num_leaves 31, up to 10,000
          rounds), pandas categories native, early stopping 50 on the held-out rows,
          deterministic=True, force_col_wise=True
  xgb     XGBoost hist, enable_categorical=True, learning_rate 0.05, max_depth 6, up to
          10,000 rounds, early stopping 50 on the held-out rows
  cat     CatBoost, cat_features = the category columns, learning_rate 0.05, iterations 2000,
          od_type Iter, early stopping 50 on the held-out rows (best model kept)
  xt      scikit-learn ExtraTrees with AutoGluon's defaults (300 trees, max_leaf_nodes 15000,
          bootstrap False, otherwise scikit-learn's: gini / squared error, min_samples_leaf 1),
          categories as ordinal codes (-1 empty), numbers' empty cells as the fold's median
  linear  standardized numbers (empty cells: the fold's median) + one-hot categories, then
          LogisticRegressionCV (10 C values, inner 5-fold CV, neg log loss, L2) or RidgeCV
          (alphas 1e-3..1e3, efficient leave-one-out)

Predictions are class probabilities for classification (the metric then takes labels, the
positive class's probability, each class's probability or the top 3 labels) and numbers for
regression; for RMSLE every learner trains on log1p(target), predictions and blends stay in
that space, and expm1 (clipped at 0, as tabular.py clips) comes back for scoring. (tabular.py's
plain way trains on the raw target.) Scores use tabular.py's `score`. Early stopping watches
the held-out fold, so the boosters' OOF scores are slightly optimistic; test scores are not.

Ensembles from the OOF predictions: `greedy` is Caruana's ensemble selection with replacement
(25 rounds, from empty, each round adding the learner whose addition gives the best OOF metric
of the mean; weights = counts / 25; ties go to the earlier learner), applied to the test
predictions with the same weights; `best` is the learner with the best OOF score. Extra
greedy runs restricted to learner subsets answer the dependency questions: `greedy-sk` (hgb,
xt, linear: scikit-learn only), `greedy-cat` (those and CatBoost: no LightGBM or XGBoost),
`greedy-gbm` (the four boosters only), `greedy-noxt` and `greedy-nolin` (all but ExtraTrees,
all but the linear model). A greedy ensemble's
OOF score is measured on the rows that chose it, so only its test score is a fair comparison.

    /work/learnvenv/bin/python benchmarks/learners.py
    /work/learnvenv/bin/python benchmarks/learners.py --only weather,house_prices --json /tmp/l.json
    /work/learnvenv/bin/python benchmarks/learners.py --learners hgb,lgbm --max-iter 300
    /work/learnvenv/bin/python benchmarks/learners.py --save /tmp/preds     # keep the predictions
    /work/learnvenv/bin/python benchmarks/learners.py --load /tmp/preds     # re-score them, no fitting

Seconds are each learner's fit + predict time summed over the 5 folds, on whatever else the
machine was doing at the time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,  # noqa: E402
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor)
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegressionCV, RidgeCV  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from tabular import HIGHER_IS_BETTER, _features, score  # noqa: E402
from tabular_data import COMPETITIONS, make  # noqa: E402

SEED = 0
THREADS = 2
FOLDS = 5
ROUNDS = 25
SKIP = {"two_targets_auc"}  # two targets at once: not what this benchmark compares
LEARNERS = ("hgb", "lgbm", "xgb", "cat", "xt", "linear")
SUBSETS = {"greedy-sk": ("hgb", "xt", "linear"), "greedy-cat": ("hgb", "cat", "xt", "linear"),
           "greedy-gbm": ("hgb", "lgbm", "xgb", "cat"),
           "greedy-noxt": ("hgb", "lgbm", "xgb", "cat", "linear"),
           "greedy-nolin": ("hgb", "lgbm", "xgb", "cat", "xt")}


# -- the task ----------------------------------------------------------------------------------

class Task:
    """One competition's features, target and the way predictions become a score.

    Classification targets are coded 0..K-1 over `classes` (the target's values as text,
    sorted); predictions are (n, K) probability matrices. Regression predictions are numbers,
    in log1p space for RMSLE."""

    def __init__(self, spec: dict, train: pd.DataFrame, test: pd.DataFrame, y: pd.Series,
                 labels: pd.Series):
        self.spec, self.metric = spec, spec["metric"]
        self.kind = spec["kind"]
        self.X, self.X_test, self.truth, self.test_truth = train, test, y, labels
        self.categorical = [c for c in train.columns if isinstance(train[c].dtype, pd.CategoricalDtype)]
        self.numeric = [c for c in train.columns if c not in self.categorical]
        if self.kind == "regression":
            self.classes = None
            values = y.to_numpy(float)
            self.y = np.log1p(values) if self.metric == "rmsle" else values
        else:
            self.classes = sorted(y.astype(str).unique())
            self.y = pd.Categorical(y.astype(str), categories=self.classes).codes.astype(int)

    @property
    def log_target(self) -> bool:
        return self.metric == "rmsle"

    def folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        splitter = (KFold(FOLDS, shuffle=True, random_state=SEED) if self.kind == "regression"
                    else StratifiedKFold(FOLDS, shuffle=True, random_state=SEED))
        return list(splitter.split(self.X, self.y))

    def submission(self, pred: np.ndarray):
        """What the metric takes from a prediction: labels, a probability column, a probability
        matrix in the spec's class order, top-3 label strings, or numbers."""
        if self.kind == "regression":
            return np.clip(np.expm1(pred), 0, None) if self.log_target else pred
        if self.metric == "accuracy":
            return np.array(self.classes, dtype=object)[np.argmax(pred, axis=1)]
        if self.metric == "auc":
            return pred[:, self.classes.index(str(self.spec["positive"]))]
        if self.metric == "map@3":
            top = np.argsort(-pred, axis=1, kind="stable")[:, :3]
            return pd.Series([" ".join(self.classes[i] for i in row) for row in top])
        return pred[:, [self.classes.index(c) for c in self.spec["classes"]]]

    def oof_score(self, pred: np.ndarray) -> float:
        return score(self.metric, self.truth, self.submission(pred), self.spec["classes"],
                     self.spec["positive"])

    def test_score(self, pred: np.ndarray) -> float:
        return score(self.metric, self.test_truth, self.submission(pred), self.spec["classes"],
                     self.spec["positive"])

    def better(self, a: float, b: float) -> bool:
        """Whether score a is strictly better than b."""
        return a > b if HIGHER_IS_BETTER[self.metric] else a < b


def load(name: str, folder: Path) -> Task:
    """Write competition `name` into `folder` and read it back as the plain way does."""
    spec = make(name, folder)
    raw = folder / "data" / "raw"
    train, test = pd.read_csv(raw / "train.csv"), pd.read_csv(raw / "test.csv")
    target = spec["target"]
    y = train[target]
    labels = pd.read_csv(folder / "test_labels.csv")
    assert (labels[spec["id"]].to_numpy() == test[spec["id"]].to_numpy()).all()
    train, test = train.drop(columns=[spec["id"], *spec["targets"]]), test.drop(columns=spec["id"])
    train, test, notes = _features(train, test, parse_dates=True)
    task = Task(spec, train, test, y, labels[target])
    task.notes = notes
    return task


# -- the learners ------------------------------------------------------------------------------
# Each fit_* takes (task, train rows, held-out rows, max_iter) and returns
# (held-out prediction, test prediction, iterations used or None).

def _proba(model, X, k: int) -> np.ndarray:
    """predict_proba as an (n, k) matrix over codes 0..k-1, whatever classes the model saw."""
    p = model.predict_proba(X)
    out = np.zeros((len(p), k))
    out[:, np.asarray(model.classes_, int)] = p
    return out


def _predict(task: Task, model, X) -> np.ndarray:
    return model.predict(X) if task.kind == "regression" else _proba(model, X, len(task.classes))


def fit_hgb(task: Task, tr, va, max_iter: int):
    cls = HistGradientBoostingRegressor if task.kind == "regression" else HistGradientBoostingClassifier
    model = cls(learning_rate=0.05, max_iter=min(1000, max_iter), early_stopping=True,
                n_iter_no_change=30, categorical_features="from_dtype", random_state=SEED)
    X, y = task.X, task.y
    model.fit(X.iloc[tr], y[tr], X_val=X.iloc[va], y_val=y[va])
    return _predict(task, model, X.iloc[va]), _predict(task, model, task.X_test), model.n_iter_


def fit_lgbm(task: Task, tr, va, max_iter: int):
    import lightgbm as lgb
    params = dict(learning_rate=0.05, num_leaves=31, n_estimators=min(10000, max_iter),
                  random_state=SEED, n_jobs=THREADS, deterministic=True, force_col_wise=True,
                  verbose=-1)
    model = (lgb.LGBMRegressor if task.kind == "regression" else lgb.LGBMClassifier)(**params)
    X, y = task.X, task.y
    import inspect
    held_out = (dict(eval_X=(X.iloc[va],), eval_y=(y[va],))  # eval_set is deprecated from 4.7
                if "eval_X" in inspect.signature(model.fit).parameters else dict(eval_set=[(X.iloc[va], y[va])]))
    model.fit(X.iloc[tr], y[tr], callbacks=[lgb.early_stopping(50, verbose=False)], **held_out)
    return _predict(task, model, X.iloc[va]), _predict(task, model, task.X_test), model.best_iteration_


def fit_xgb(task: Task, tr, va, max_iter: int):
    import xgboost as xgb
    params = dict(tree_method="hist", enable_categorical=True, learning_rate=0.05, max_depth=6,
                  n_estimators=min(10000, max_iter), early_stopping_rounds=50,
                  random_state=SEED, n_jobs=THREADS)
    model = (xgb.XGBRegressor if task.kind == "regression" else xgb.XGBClassifier)(**params)
    X, y = task.X, task.y
    model.fit(X.iloc[tr], y[tr], eval_set=[(X.iloc[va], y[va])], verbose=False)
    return _predict(task, model, X.iloc[va]), _predict(task, model, task.X_test), model.best_iteration + 1


def _catboost_frame(task: Task, X: pd.DataFrame) -> pd.DataFrame:
    """Category columns as text (empty cells as "__empty__"), as CatBoost's cat_features want."""
    X = X.copy()
    for c in task.categorical:
        X[c] = X[c].astype(object).where(X[c].notna(), "__empty__").astype(str)
    return X


def fit_cat(task: Task, tr, va, max_iter: int):
    from catboost import CatBoostClassifier, CatBoostRegressor
    params = dict(learning_rate=0.05, iterations=min(2000, max_iter), od_type="Iter", od_wait=50,
                  thread_count=THREADS, random_seed=SEED, allow_writing_files=False, verbose=0,
                  cat_features=task.categorical, use_best_model=True)
    if task.kind == "regression":
        model = CatBoostRegressor(loss_function="RMSE", **params)
    else:
        model = CatBoostClassifier(loss_function="Logloss" if len(task.classes) == 2 else "MultiClass",
                                   **params)
    X, X_test, y = _catboost_frame(task, task.X), _catboost_frame(task, task.X_test), task.y
    model.fit(X.iloc[tr], y[tr], eval_set=(X.iloc[va], y[va]))
    return _predict(task, model, X.iloc[va]), _predict(task, model, X_test), model.get_best_iteration() + 1


def _ordinal(task: Task, X: pd.DataFrame, medians: pd.Series) -> np.ndarray:
    """Numbers with empty cells as `medians`, categories as their codes (-1 empty)."""
    X = X.copy()
    for c in task.categorical:
        X[c] = X[c].cat.codes
    X[task.numeric] = X[task.numeric].astype(float).fillna(medians).fillna(0.0)
    return X.to_numpy(float)


def fit_xt(task: Task, tr, va, max_iter: int):
    params = dict(n_estimators=300, max_leaf_nodes=15000, bootstrap=False, n_jobs=THREADS,
                  random_state=SEED)
    model = (ExtraTreesRegressor(**params) if task.kind == "regression"
             else ExtraTreesClassifier(criterion="gini", **params))
    X = task.X
    medians = X.iloc[tr][task.numeric].astype(float).median()
    model.fit(_ordinal(task, X.iloc[tr], medians), task.y[tr])
    held_out, test = _ordinal(task, X.iloc[va], medians), _ordinal(task, task.X_test, medians)
    return _predict(task, model, held_out), _predict(task, model, test), None


def fit_linear(task: Task, tr, va, max_iter: int):
    steps = []
    if task.numeric:
        steps.append(("num", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                           StandardScaler()), task.numeric))
    if task.categorical:  # empty cells become a level of their own; unseen levels all zeros
        steps.append(("cat", OneHotEncoder(handle_unknown="ignore"), task.categorical))
    prep = ColumnTransformer(steps)
    if task.kind == "regression":
        head = RidgeCV(alphas=np.logspace(-3, 3, 13))
    else:
        head = LogisticRegressionCV(Cs=10, l1_ratios=(0.0,), scoring="neg_log_loss", max_iter=1000,
                                    n_jobs=THREADS, random_state=SEED, use_legacy_attributes=False)
    model = Pipeline([("prep", prep), ("model", head)])

    def frame(X: pd.DataFrame) -> pd.DataFrame:  # categories as text (OneHotEncoder's NaN as a level)
        X = X.copy()
        for c in task.categorical:
            X[c] = X[c].astype(object).where(X[c].notna(), "__empty__").astype(str)
        return X

    X = frame(task.X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs convergence notes at the largest C
        model.fit(X.iloc[tr], task.y[tr])
        held_out, test = _predict(task, model, X.iloc[va]), _predict(task, model, frame(task.X_test))
    return held_out, test, None


FIT = {"hgb": fit_hgb, "lgbm": fit_lgbm, "xgb": fit_xgb, "cat": fit_cat, "xt": fit_xt,
       "linear": fit_linear}


def run_learner(task: Task, name: str, folds, max_iter: int) -> dict:
    """OOF predictions, the fold-average test prediction, seconds and iterations of one learner."""
    n = len(task.X)
    shape = (n,) if task.kind == "regression" else (n, len(task.classes))
    oof = np.zeros(shape)
    test = np.zeros(((len(task.X_test),) + shape[1:]))
    seconds, iters = 0.0, []
    for tr, va in folds:
        started = time.perf_counter()
        held_out, test_pred, n_iter = FIT[name](task, tr, va, max_iter)
        seconds += time.perf_counter() - started
        oof[va] = held_out
        test += test_pred / len(folds)
        if n_iter is not None:
            iters.append(int(n_iter))
    return {"oof": oof, "test": test, "seconds": seconds, "iters": iters,
            "oof_score": task.oof_score(oof), "test_score": task.test_score(test)}


# -- ensembles ---------------------------------------------------------------------------------

def greedy(task: Task, results: dict, names: list[str], rounds: int = ROUNDS) -> dict[str, float]:
    """Caruana's ensemble selection with replacement: weights (counts / rounds) over `names`."""
    counts = dict.fromkeys(names, 0)
    total = None
    for r in range(rounds):
        best_name, best_score = None, None
        for name in names:
            candidate = results[name]["oof"] if total is None else total + results[name]["oof"]
            s = task.oof_score(candidate / (r + 1))
            if best_score is None or task.better(s, best_score):
                best_name, best_score = name, s
        counts[best_name] += 1
        total = results[best_name]["oof"].copy() if total is None else total + results[best_name]["oof"]
    return {name: c / rounds for name, c in counts.items() if c}


def blend(results: dict, weights: dict[str, float], key: str) -> np.ndarray:
    return sum(w * results[name][key] for name, w in weights.items())


def ensembles(task: Task, results: dict) -> dict[str, dict]:
    names = list(results)
    out = {}
    chosen = {"greedy": names, **{k: [n for n in v if n in results] for k, v in SUBSETS.items()}}
    for label, subset in chosen.items():
        if not subset or (label != "greedy" and subset == names):
            continue
        weights = greedy(task, results, subset)
        out[label] = {"weights": weights, "oof_score": task.oof_score(blend(results, weights, "oof")),
                      "test_score": task.test_score(blend(results, weights, "test"))}
    best = names[0]
    for name in names[1:]:
        if task.better(results[name]["oof_score"], results[best]["oof_score"]):
            best = name
    out["best"] = {"weights": {best: 1.0}, "oof_score": results[best]["oof_score"],
                   "test_score": results[best]["test_score"]}
    return out


# -- printing ----------------------------------------------------------------------------------

def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.2f}"


def _weights(weights: dict[str, float]) -> str:
    return " ".join(f"{n} {w:.2f}" for n, w in sorted(weights.items(), key=lambda kv: -kv[1]))


def cpu_line() -> str:
    """The CPU's model name and which of avx2 / avx512f / amx it has, from /proc/cpuinfo."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    have = {"avx2": "avx2" in flags, "avx512f": "avx512f" in flags,
            "amx": any(f.startswith("amx") for f in flags)}
    return f"cpu: {model}; " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in have.items())


def versions() -> str:
    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}",
             f"pandas {pd.__version__}", f"scikit-learn {sklearn.__version__}"]
    for module in ("lightgbm", "xgboost", "catboost"):
        try:
            parts.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            parts.append(f"{module} missing")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated competitions [default: all but two_targets_auc]")
    parser.add_argument("--learners", default=",".join(LEARNERS),
                        help=f"comma-separated learners [default: {','.join(LEARNERS)}]")
    parser.add_argument("--max-iter", type=int, default=10000,
                        help="cap on every booster's rounds (hgb 1000, cat 2000 at most) [default: 10000]")
    parser.add_argument("--cap", action="append", default=[], metavar="NAME=N",
                        help="cap on the boosters' rounds for one competition (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    parser.add_argument("--save", type=Path,
                        help="also write each competition's OOF and test predictions here (NAME.npz)")
    parser.add_argument("--load", type=Path,
                        help="score and ensemble the predictions --save wrote there instead of fitting")
    args = parser.parse_args(argv)

    names = ([n.strip() for n in args.only.split(",") if n.strip()] if args.only
             else [n for n in COMPETITIONS if n not in SKIP])
    bad = [n for n in names if n not in COMPETITIONS or n in SKIP]
    if bad:
        parser.error(f"unknown or skipped competitions {bad}; choose from "
                     f"{', '.join(n for n in COMPETITIONS if n not in SKIP)}")
    learners = [n.strip() for n in args.learners.split(",") if n.strip()]
    if any(n not in FIT for n in learners):
        parser.error(f"learners are {', '.join(LEARNERS)}")
    caps = {k: int(v) for k, _, v in (c.partition("=") for c in args.cap)}

    started_all = time.perf_counter()
    print(cpu_line())
    print(machine())
    print(versions())
    print(f"{FOLDS} folds (stratified for classification), seed {SEED}, {THREADS} threads a learner; "
          f"greedy: {ROUNDS} rounds with replacement; seconds: fit+predict over the {FOLDS} folds, "
          "indicative only (2 cores, shared with other work)")
    print()
    report: dict = {"cpu": cpu_line(), "versions": versions(), "competitions": {}}
    for name in names:
        cap = caps.get(name, args.max_iter)
        with tempfile.TemporaryDirectory(prefix=f"learners_{name}_") as tmp:
            t0 = time.perf_counter()
            task = load(name, Path(tmp))
            folds = task.folds()
            arrow = "^" if HIGHER_IS_BETTER[task.metric] else "v"
            print(f"== {name}: {len(task.X)}+{len(task.X_test)} rows, {task.X.shape[1]} features "
                  f"({len(task.categorical)} category), {task.kind}, {task.metric} {arrow}"
                  + (f", boosters capped at {cap} rounds" if cap < 10000 else "")
                  + (f"; {', '.join(task.notes)}" if task.notes else ""), flush=True)
            print(f"   {'learner':12s} {'oof':>9s} {'test':>9s} {'seconds':>8s}  rounds per fold")
            results = {}
            saved = np.load(args.load / f"{name}.npz") if args.load else None
            for learner in learners:
                try:
                    if saved is not None:
                        oof, test = saved[f"{learner}_oof"], saved[f"{learner}_test"]
                        r = {"oof": oof, "test": test, "seconds": None, "iters": [],
                             "oof_score": task.oof_score(oof), "test_score": task.test_score(test)}
                    else:
                        r = run_learner(task, learner, folds, cap)
                except Exception as error:  # the table is the point: keep going
                    print(f"   {learner:12s} FAILED {type(error).__name__}: {error}", flush=True)
                    continue
                results[learner] = r
                iters = " ".join(map(str, r["iters"])) if r["iters"] else "-"
                secs = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
                print(f"   {learner:12s} {_fmt(r['oof_score']):>9s} {_fmt(r['test_score']):>9s} "
                      f"{secs:>8s}  {iters}", flush=True)
            ens = ensembles(task, results) if results else {}
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(args.save / f"{name}.npz", y=task.y,
                                    **{f"{k}_{part}": v[part] for k, v in results.items()
                                       for part in ("oof", "test")})
            for label, e in ens.items():
                print(f"   {label:12s} {_fmt(e['oof_score']):>9s} {_fmt(e['test_score']):>9s} "
                      f"{'':8s}  {_weights(e['weights'])}")
            elapsed = time.perf_counter() - t0
            print(f"   ({elapsed:.0f}s)\n", flush=True)
            report["competitions"][name] = {
                "metric": task.metric, "higher_is_better": HIGHER_IS_BETTER[task.metric],
                "rows": [len(task.X), len(task.X_test)], "cap": cap, "seconds": elapsed,
                "learners": {k: {"oof": v["oof_score"], "test": v["test_score"],
                                 "seconds": v["seconds"], "iters": v["iters"]} for k, v in results.items()},
                "ensembles": ens}

    # -- summary
    print("summary: OOF score per learner (* best OOF of the row), then test scores of hgb, the best "
          "single learner and the greedy ensemble; 'greedy>' says whether greedy's TEST score beats "
          "the best single learner's / hgb's")
    head = f"{'competition':24s} {'metric':9s} " + " ".join(f"{n:>9s}" for n in learners)
    head += f" | {'hgb test':>9s} {'best test':>9s} {'greedy':>9s} {'greedy>':>8s}"
    print(head)
    print("-" * len(head))
    for name, c in report["competitions"].items():
        ls = c["learners"]
        if not ls:
            continue
        hib = c["higher_is_better"]
        top = (max if hib else min)(ls, key=lambda k: ls[k]["oof"])
        cells = []
        for n in learners:
            cells.append(f"{(_fmt(ls[n]['oof']) + ('*' if n == top else ' ')) if n in ls else '-':>9s}")
        ens = c["ensembles"]
        g, b = ens.get("greedy"), ens["best"]
        beats = lambda a, ref: ("yes" if (a > ref if hib else a < ref) else "tie" if a == ref else "no")
        mark = "-"
        if g and "hgb" in ls:
            mark = f"{beats(g['test_score'], b['test_score'])}/{beats(g['test_score'], ls['hgb']['test'])}"
        arrow = "^" if hib else "v"
        print(f"{name:24s} {c['metric'] + ' ' + arrow:9s} " + " ".join(cells)
              + f" | {_fmt(ls.get('hgb', {}).get('test')):>9s} {_fmt(b['test_score']):>9s} "
              f"{_fmt(g['test_score']) if g else '-':>9s} {mark:>8s}")
    total = time.perf_counter() - started_all
    report["seconds"] = total
    print(f"\ntotal wall time {total:.0f}s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
