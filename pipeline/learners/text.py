"""The text learner (`text`): a table's text columns as sparse TF-IDF of word 1-2-grams and
character 2-5-grams (each column its own vocabulary, learned on the rows it fits), into
logistic regression for classes or ridge regression for a number: what a plain text-
classification notebook does. What it reads (words and characters, or words alone) and its
strength are chosen on the rows it stops on (the fold's held-out rows) by log loss or RMSE,
and a refit keeps that choice. It reads only the text
(Job.text, `text=`); the other learners read the numbers, and the blend weighs them.

Tokenising is most of its time, so the n-grams are counted once, on every training row
(no labels involved), and each fold's model fits its rows of that one sparse matrix; the
folds' models then share one vocabulary, and predicting transforms the rows once for all of
them, in chunks that report progress. scikit-learn is imported inside the functions.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any, Callable

import numpy as np

from pipeline.learners.base import Fitted, Job, SklearnLearner

STRENGTHS = (0.0625, 0.25, 1.0, 4.0, 16.0)  # logistic regression's C; ridge's alpha is 1 / C
# what a model reads, each at every strength: where the text is words the right ones decide,
# the character n-grams are noise (a plain word model beat both together on such text)
FEATURES = ("words and characters", "words")
GRID = tuple((features, strength) for features in FEATURES for strength in STRENGTHS)
MAX_FEATURES = 100_000  # n-grams kept per column and analyzer, the most frequent: bounds memory
MIN_ROWS = 2  # an n-gram in fewer rows than this is noise
TERMS = 10  # words shown for each class in the report
CHUNK = 10_000  # rows transformed (and counted towards progress) at a time


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
        from sklearn.preprocessing import FunctionTransformer

        if job.text is None:
            raise ValueError("the text learner needs the text columns (Job.text)")
        plan = job.plan
        regression = plan.task.learns_numbers

        def head(strength: float) -> Any:
            if regression:
                return Ridge(alpha=1.0 / strength, random_state=job.seed)
            return LogisticRegression(C=strength, max_iter=1000, random_state=job.seed)

        columns, counted = _vectorized(job.text, plan.on_batch, plan.label)
        kept = {"words and characters": None, "words": _word_columns(columns)}
        # a refit: what the validated model chose (job.plan.epochs, from 1); else each of GRID,
        # judged on the held-out rows
        grid = [GRID[min(max(plan.epochs, 1), len(GRID)) - 1]] if stop_idx is None else GRID
        losses, models, tried = [], [], []
        for i, (features, strength) in enumerate(grid):
            if _past_best(tried, losses, features):
                continue
            rows = counted if kept[features] is None else counted[:, kept[features]]
            models.append(_fitted(head(strength), rows[fit_idx], y[fit_idx]))
            tried.append((features, strength))
            if stop_idx is not None:
                losses.append(_loss(models[-1], rows[stop_idx], y[stop_idx], regression))
            if plan.on_batch:
                plan.on_batch(f"{plan.label}text model", i + 1, len(grid), f"{features}, C={strength:g}")
        chosen = int(np.argmin(losses)) if losses else 0
        features, strength = tried[chosen]
        if plan.on_epoch:
            plan.on_epoch(f"{plan.label}text model, {features}, C={strength:g}", {"val_loss": losses[chosen]} if losses else {})
        steps = [("text", columns), ("linear", models[chosen])]
        if kept[features] is not None:
            steps.insert(1, ("keep", FunctionTransformer(_keep, kw_args={"columns": kept[features]}, accept_sparse=True)))
        history = {"val_loss": losses} if losses else {}
        return Pipeline(steps), history, GRID.index(tried[chosen]) + 1

    def explain(self, arrays: dict[str, np.ndarray], text_columns: list[str], labels: list[str]) -> dict[str, np.ndarray]:
        """What the first fold's model learned: see `terms`."""
        return terms(self.nets(arrays, final=False)[0], text_columns, labels)

    def predict(self, arrays: dict[str, np.ndarray], nets: list[Any], x: np.ndarray,
                on_batch: Callable[[int, int], None] | None = None, tta: bool = False,
                text: np.ndarray | None = None) -> np.ndarray:
        if text is None:
            raise ValueError("the text learner predicts from the text columns (text=)")
        shared = all(_same_vocabulary(net.named_steps["text"], nets[0].named_steps["text"]) for net in nets)
        outputs = []
        for start in range(0, len(text), CHUNK):
            rows = text[start:start + CHUNK]
            features = nets[0].named_steps["text"].transform(rows) if shared else None
            outputs.append(np.mean([_output(net[1:], features) if shared else _output(net, rows) for net in nets],
                                   axis=0))
            if on_batch:
                on_batch(min(start + CHUNK, len(text)), len(text))
        return np.concatenate(outputs) if outputs else np.zeros((0, len(getattr(nets[0], "classes_", [0]))))


def terms(net: Any, text_columns: list[str], labels: list[str], k: int = TERMS) -> dict[str, np.ndarray]:
    """The words and word pairs that push each class (or, for a number, the value up and
    down) most, from one fitted model: `text_terms_for` (the class, or "higher"/"lower"),
    `text_terms` ("column: words") and `text_term_weights` (the linear model's coefficients)."""
    names = net.named_steps["text"].get_feature_names_out()
    if "keep" in net.named_steps:
        names = names[net.named_steps["keep"].kw_args["columns"]]
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


_counted: list[Any] = []  # the last text vectorized: [a weak reference to it, its fitted vectorizer, its matrix]


def _vectorized(text: np.ndarray, on_batch: Callable[[str, int, int, str], None] | None,
                label: str) -> tuple[Any, Any]:
    """`text`'s vectorizer fitted on all of its rows and their sparse TF-IDF matrix (CSR),
    kept for the next fold's call with the same array until that array is gone."""
    if _counted and _counted[0]() is text:
        return _counted[1], _counted[2]
    columns = vectorizer(text.shape[1])
    total = len(text) * len(columns.transformers)
    if on_batch:  # count the documents each analyzer reads, then restore the default preprocessing
        done = [0]

        def counting(doc: str) -> str:
            done[0] += 1
            if done[0] % 1000 == 0 or done[0] == total:
                on_batch(f"{label}text model", done[0], total, f"counting n-grams of {len(text):,} rows")
            return doc.lower()

        columns.set_params(**{f"{name}__preprocessor": counting for name, _, _ in columns.transformers})
    counted = columns.fit_transform(text).tocsr()
    for fitted in (columns.transformers, columns.transformers_):
        for _, step, _ in fitted:
            if step not in ("drop", "passthrough"):
                step.set_params(preprocessor=None)
    held = weakref.ref(text)
    _counted[:] = [held, columns, counted]
    weakref.finalize(text, _forget, held)
    return columns, counted


def _forget(held: weakref.ref) -> None:
    if _counted and _counted[0] is held:
        _counted.clear()


def _past_best(tried: list[tuple[str, float]], losses: list[float], features: str) -> bool:
    """Whether the strengths tried on `features` (rising) have begun to score worse: the
    stronger ones left would score worse still, so they are not fitted."""
    mine = [loss for (read, _), loss in zip(tried, losses) if read == features]
    return len(mine) > 1 and mine[-1] > mine[-2]


def _word_columns(columns: Any) -> np.ndarray:
    """The columns of the vectorizer's output that are words and word pairs."""
    return np.concatenate([np.arange(part.start, part.stop) for name, part in columns.output_indices_.items()
                           if name.startswith("words")])


def _keep(features: Any, columns: np.ndarray) -> Any:
    return features[:, columns]


def _same_vocabulary(a: Any, b: Any) -> bool:
    """Whether two fitted vectorizers give the same columns (the folds' share one)."""
    return a is b or all(x.vocabulary_ == y.vocabulary_ and np.array_equal(x.idf_, y.idf_)
                         for (_, x, _), (_, y, _) in zip(a.transformers_, b.transformers_))


def _output(model: Any, features: Any) -> np.ndarray:
    return model.predict_proba(features) if hasattr(model, "predict_proba") else model.predict(features)[:, None]


def _fitted(model: Any, features: Any, y: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs' convergence notes at the largest C
        return model.fit(features, y)


def _loss(model: Any, features: Any, y: np.ndarray, regression: bool) -> float:
    from sklearn.metrics import log_loss, mean_squared_error

    if regression:
        return float(np.sqrt(mean_squared_error(y, model.predict(features))))
    return float(log_loss(y, model.predict_proba(features), labels=model.classes_))
