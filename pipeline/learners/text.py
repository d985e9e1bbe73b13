"""The text learner (`text`): a table's text columns as sparse TF-IDF of word 1-2-grams and
character 2-5-grams (each column its own vocabulary, learned on the rows it fits), into
logistic regression for classes or ridge regression for a number: what a plain text-
classification notebook does. Its strength is chosen on the rows it stops on (the fold's
held-out rows) by log loss or RMSE, and a refit keeps that choice. It reads only the text
(Job.text, `text=`); the other learners read the numbers, and the blend weighs them.
scikit-learn is imported inside the functions.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from pipeline.learners.base import Fitted, Job, SklearnLearner

STRENGTHS = (0.25, 1.0, 4.0, 16.0)  # logistic regression's C; ridge's alpha is 1 / C
MAX_FEATURES = 100_000  # n-grams kept per column and analyzer, the most frequent: bounds memory
MIN_ROWS = 2  # an n-gram in fewer rows than this is noise
TERMS = 10  # words shown for each class in the report


def vectorizer(n_columns: int) -> Any:
    """The columns' TF-IDF, word and character n-grams of each, side by side (sparse)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer

    def tfidf(**kwargs: Any) -> Any:
        return TfidfVectorizer(min_df=MIN_ROWS, max_features=MAX_FEATURES, sublinear_tf=True, dtype=np.float32,
                               lowercase=True, **kwargs)

    return ColumnTransformer([
        (f"{kind}{j}", tfidf(analyzer=analyzer, ngram_range=grams), j)
        for j in range(n_columns)
        for kind, analyzer, grams in (("words", "word", (1, 2)), ("chars", "char_wb", (2, 5)))
    ], sparse_threshold=1.0)


class Text(SklearnLearner):
    name = "text"
    text = True

    def fit(self, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None,
            job: Job) -> Fitted:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import Pipeline

        if job.text is None:
            raise ValueError("the text learner needs the text columns (Job.text)")
        plan = job.plan
        regression = plan.task.learns_numbers

        def head(strength: float) -> Any:
            if regression:
                return Ridge(alpha=1.0 / strength, random_state=job.seed)
            return LogisticRegression(C=strength, max_iter=1000, random_state=job.seed)

        text = job.text
        columns = vectorizer(text.shape[1])
        features = columns.fit_transform(text[fit_idx])
        if stop_idx is None:  # a refit: the strength the validated model chose (job.plan.epochs)
            chosen = STRENGTHS[min(max(plan.epochs, 1), len(STRENGTHS)) - 1]
            model = _fitted(head(chosen), features, y[fit_idx])
            history: dict[str, list[float]] = {}
            best = STRENGTHS.index(chosen) + 1
        else:
            held = columns.transform(text[stop_idx])
            losses, models = [], []
            for strength in STRENGTHS:
                model = _fitted(head(strength), features, y[fit_idx])
                losses.append(_loss(model, held, y[stop_idx], regression))
                models.append(model)
                if plan.on_epoch:
                    plan.on_epoch(f"{plan.label}text model C={strength:g}", {"val_loss": losses[-1]})
            best = int(np.argmin(losses)) + 1
            model = models[best - 1]
            history = {"val_loss": losses}
        return Pipeline([("text", columns), ("linear", model)]), history, best

    def explain(self, arrays: dict[str, np.ndarray], text_columns: list[str], labels: list[str]) -> dict[str, np.ndarray]:
        """What the first fold's model learned: see `terms`."""
        return terms(self.nets(arrays, final=False)[0], text_columns, labels)

    def predict(self, arrays: dict[str, np.ndarray], nets: list[Any], x: np.ndarray,
                on_batch: Callable[[int, int], None] | None = None, tta: bool = False,
                text: np.ndarray | None = None) -> np.ndarray:
        if text is None:
            raise ValueError("the text learner predicts from the text columns (text=)")
        predicted = np.mean([net.predict_proba(text) if hasattr(net, "predict_proba") else net.predict(text)[:, None]
                             for net in nets], axis=0)
        if on_batch:
            on_batch(1, 1)
        return predicted


def terms(net: Any, text_columns: list[str], labels: list[str], k: int = TERMS) -> dict[str, np.ndarray]:
    """The words and word pairs that push each class (or, for a number, the value up and
    down) most, from one fitted model: `text_terms_for` (the class, or "higher"/"lower"),
    `text_terms` ("column: words") and `text_term_weights` (the linear model's coefficients)."""
    names = net.named_steps["text"].get_feature_names_out()
    linear = net.named_steps["linear"]
    coef = np.atleast_2d(linear.coef_)
    words = np.array([n.startswith("words") for n in names])
    if coef.shape[0] == 1:  # binary or a number: one direction each way
        sides = [(labels[-1] if labels else "higher", coef[0]), (labels[0] if labels else "lower", -coef[0])]
    else:
        sides = [(str(label), row) for label, row in zip(labels, coef)]
    found: dict[str, list] = {"text_terms_for": [], "text_terms": [], "text_term_weights": []}
    for label, weights in sides:
        for i in np.argsort(-np.where(words, weights, -np.inf), kind="stable")[:k]:
            column, term = names[i].split("__", 1)
            found["text_terms_for"].append(label)
            found["text_terms"].append(f"{text_columns[int(column[len('words'):])]}: {term}")
            found["text_term_weights"].append(float(weights[i]))
    return {"text_terms_for": np.array(found["text_terms_for"], dtype=str),
            "text_terms": np.array(found["text_terms"], dtype=str),
            "text_term_weights": np.array(found["text_term_weights"], dtype=np.float32)}


def _fitted(model: Any, features: Any, y: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs' convergence notes at the largest C
        return model.fit(features, y)


def _loss(model: Any, features: Any, y: np.ndarray, regression: bool) -> float:
    from sklearn.metrics import log_loss, mean_squared_error

    if regression:
        return float(np.sqrt(mean_squared_error(y, model.predict(features))))
    return float(log_loss(y, model.predict_proba(features), labels=model.classes_))
