"""The linear model (`linear`): logistic regression for classes, ridge regression for a
number, on standardised numbers (missing cells as train's median) and one-hot categories
(a missing cell its own level, unseen ones ignored), its strength chosen by cross-validation
on the rows it fits (at most MAX_ROWS, drawn with the seed). Out of fold it scored best of
six families on house_prices and took 0.4-0.5 of the greedy blend there and on diabetes
(docs/learners.md). scikit-learn is imported inside the functions.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from pipeline.learners.base import Fitted, Job, SklearnLearner, at_most, drawn
from pipeline.learners.boosting import table

STRENGTHS = 10  # values of C (or alpha) tried, log-spaced, by 5-fold cross-validation
# Past this many rows, 4 values by 2 folds: on 900,000 rows the 51 fits took 86 s, and so
# many rows leave the strength little to decide.
MANY_ROWS = 100_000
# Past this many, it fits on as many rows drawn with the seed: its one-hot matrix and the
# copies its solver makes took 0.67 GB on 900,000 rows and grow with them, and a model of a
# few thousand weights is settled long before (validation AUC on issue #41's table: 0.7602 on
# 900,000 rows, 0.7550 on 300,000).
MAX_ROWS = 500_000


class Linear(SklearnLearner):
    name = "linear"

    def fit(self, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None,
            job: Job) -> Fitted:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegressionCV, RidgeCV
        from sklearn.pipeline import Pipeline, make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        plan = job.plan
        flat, categorical = table(x, plan.spec)
        columns: list[tuple[str, Any, np.ndarray]] = []
        if (~categorical).any():
            columns.append(("numbers", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                                     StandardScaler()), np.flatnonzero(~categorical)))
        if categorical.any():
            columns.append(("categories", OneHotEncoder(handle_unknown="ignore"), np.flatnonzero(categorical)))
        many = len(fit_idx) > MANY_ROWS
        offered = len(fit_idx)
        fit_idx = at_most(fit_idx, MAX_ROWS, job.seed)
        if plan.task.learns_numbers:
            head = RidgeCV(alphas=np.logspace(-3, 3, 4 if many else STRENGTHS))
        else:
            head = LogisticRegressionCV(Cs=4 if many else STRENGTHS, cv=2 if many else 5, scoring="neg_log_loss",
                                        max_iter=1000, random_state=job.seed)
        net = Pipeline([("columns", ColumnTransformer(columns)), ("linear", head)])
        with warnings.catch_warnings():  # scikit-learn 1.9's notes on LogisticRegressionCV's coming defaults
            warnings.simplefilter("ignore", FutureWarning)
            net.fit(flat[fit_idx], y[fit_idx])
        if plan.on_epoch:
            plan.on_epoch(f"{plan.label}linear model{drawn(len(fit_idx), offered)}", {})
        return net, {}, 1
