"""Reports written to reports/: the validation metrics as JSON, and the visual report (PNG
plots, the training history as CSV, and index.html bundling them).

Matplotlib draws without a display (Agg) and is imported only when a report is drawn. Every
file is written atomically, index.html last: a report without it is incomplete and drawn again.
"""

from __future__ import annotations

import html
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.cache import atomic_write_bytes
from pipeline.targets import TARGETS, views

INDEX = "index.html"
PLOTS = ("learning_curves.png", "confusion_matrix.png", "per_class.png", "mistakes.png", "roc.png",
         "predicted_vs_actual.png", "residuals.png", "feature_importance.png")
FILES = (*PLOTS, "history.csv", INDEX)  # everything write_report may write, for `pipeline clean` ...
PER_TARGET_FILE = re.compile(r"(t\d+-)?(" + "|".join(map(re.escape, FILES)) + ")")  # ... each target's, with several
MISTAKES = 24  # the grid of most confident mistakes
TOP_FEATURES = 20


SCALARS = ("accuracy", "log_loss", "auc", "rmse", "mae", "r2")  # reported when the task has them


def metrics_record(metrics: dict[str, np.ndarray]) -> dict:
    """Validation metrics as plain JSON-able values: the competition's metric and score first,
    then the task's others; precision and recall keyed by the original class. With several
    targets, the mean score, each target's (`targets`) and each one's whole record (`per_target`)."""
    if TARGETS in metrics:
        names = [str(n) for n in metrics[TARGETS]]
        return {"metric": str(metrics["metric"]), "score": float(metrics["score"]), "n_val": int(metrics["n_val"]),
                "targets": dict(zip(names, map(float, metrics["target_scores"]))),
                "per_target": {name: metrics_record(view) for name, view in zip(names, views(metrics))}}
    metric = str(metrics["metric"]) if "metric" in metrics else "accuracy"
    record: dict[str, Any] = {
        "metric": metric,
        "score": float(metrics["score"]) if "score" in metrics else float(metrics["accuracy"]),
        "n_val": int(metrics["n_val"]),
        **{name: float(metrics[name]) for name in SCALARS if name in metrics},
    }
    if "positive" in metrics:
        record["positive"] = str(metrics["positive"])
    if "cuts" in metrics:
        record["cuts"] = [float(c) for c in metrics["cuts"]]
    if "confusion" in metrics:
        classes = [c.item() for c in metrics["classes"]]
        record.update(classes=classes, recall={str(c): float(r) for c, r in zip(classes, metrics["recall"])},
                      confusion_matrix=metrics["confusion"].tolist())
        if "precision" in metrics:
            record["precision"] = {str(c): float(p) for c, p in zip(classes, metrics["precision"])}
    if "candidates" in metrics:
        record["candidates"] = {str(c): float(v) for c, v in zip(metrics["candidates"], metrics["candidate_scores"])}
        record["leaderboard"] = leaderboard(metrics)
    if "importance_mean" in metrics:
        record["importance"] = {str(c): float(v) for c, v in zip(metrics["importance_columns"],
                                                                 metrics["importance_mean"])}
    if "text_terms" in metrics:
        record["text_terms"] = {}
        for label, term, weight in zip(metrics["text_terms_for"], metrics["text_terms"], metrics["text_term_weights"]):
            record["text_terms"].setdefault(str(label), []).append([str(term), round(float(weight), 4)])
    if "wrong_text" in metrics:
        record["surest_mistakes"] = [
            {"text": str(t), "predicted": str(p), "truth": str(r), "sureness": round(float(s), 4)}
            for t, p, r, s in zip(metrics["wrong_text"], metrics["wrong_predicted"], metrics["wrong_truth"],
                                  metrics["wrong_sureness"])]
    return record


def leaderboard(metrics: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Each candidate model, best first: its score on the rows it did not train on, its spread
    over the folds (None with one split), its training seconds, whether it was kept, and its
    weight in the blend (None when it has none)."""
    from pipeline.task import LOWER_IS_BETTER

    sign = 1.0 if str(metrics["metric"]) in LOWER_IS_BETTER else -1.0
    weights = {str(p): float(w) for p, w in zip(metrics.get("blend_parts", ()), metrics.get("blend_weights", ()))}
    rows = [{"model": str(name), "score": float(score),
             "spread": None if "candidate_spread" not in metrics or np.isnan(metrics["candidate_spread"][i])
             else float(metrics["candidate_spread"][i]),
             "seconds": float(metrics["candidate_seconds"][i]) if "candidate_seconds" in metrics else None,
             "weight": weights.get(str(name))}
            for i, (name, score) in enumerate(zip(metrics["candidates"], metrics["candidate_scores"]))]
    rows.sort(key=lambda row: sign * row["score"] if not np.isnan(row["score"]) else np.inf)
    for row in rows:
        row["kept"] = row["model"] == str(metrics.get("kept", ""))
    return rows


def write_metrics(metrics: dict[str, np.ndarray], path: Path) -> None:
    """Save `reports/metrics.json` atomically."""
    atomic_write_bytes(path, json.dumps(metrics_record(metrics), indent=2).encode())


@dataclass
class ReportData:
    """What the report shows, gathered from the cache by the runner."""

    metrics: dict[str, np.ndarray]  # the validate stage's outputs
    history: dict[str, np.ndarray]  # per-epoch loss, accuracy, val_loss, val_accuracy (may be empty)
    best_epoch: int
    model: str
    truth: np.ndarray  # the held-out rows' class codes
    images: np.ndarray | None  # the held-out images (N, H, W, C), None for vectors


def write_report(targets: list[tuple[str, ReportData]], folder: Path, key: str) -> Path:
    """Draw every plot of each target (named only when there are several) into `folder`,
    write history.csv, then index.html recording `key`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for old in folder.glob("*"):
        if PER_TARGET_FILE.fullmatch(old.name) and old.name not in ("metrics.json", INDEX):
            old.unlink(missing_ok=True)  # nothing left over from an earlier model
    sections: list[str] = []
    for i, (name, data) in enumerate(targets):
        prefix = f"t{i}-" if len(targets) > 1 else ""
        if len(targets) > 1:
            sections.append(f"<h2>Target {html.escape(name)}</h2>\n{_summary(data)}")
        sections += _draw(plt, data, folder, prefix)
    index = folder / INDEX
    atomic_write_bytes(index, _page(targets, key, sections).encode())
    return index


def _draw(plt: Any, data: ReportData, folder: Path, prefix: str) -> list[str]:
    """One target's plots and history.csv, their file names starting with `prefix`; returns
    the page's sections for them."""
    classes = [str(c) for c in data.metrics["classes"]]
    positive = f" of {str(data.metrics['positive'])!r}" if "positive" in data.metrics else ""
    titles = ("Learning curves", "Confusion matrix (held-out rows)", "Precision and recall per class",
              "Most confident mistakes", f"ROC curve{positive} (held-out rows)",
              "Predicted against actual (held-out rows)", "Residuals (held-out rows)",
              "Permutation feature importance per column")
    figures = (_learning_curves(plt, data), _confusion(plt, data.metrics, classes),
               _per_class(plt, data.metrics, classes), _mistakes(plt, data, classes), _roc(plt, data.metrics),
               _predicted_vs_actual(plt, data.metrics), _residuals(plt, data.metrics), _importance(plt, data))
    sections = []
    for name, title, figure in zip(PLOTS, titles, figures):
        if figure is None:
            continue
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
        atomic_write_bytes(folder / (prefix + name), buffer.getvalue())
        sections.append(f'<h3>{html.escape(title)}</h3>\n<img src="{prefix}{name}" alt="{html.escape(title)}">')
        if name == "per_class.png":
            sections.append(_class_table(data.metrics, classes))
    if data.history:
        import pandas as pd

        frame = pd.DataFrame({k: np.asarray(v) for k, v in data.history.items()})
        frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
        atomic_write_bytes(folder / f"{prefix}history.csv", frame.to_csv(index=False).encode())
        sections.append(f'<p><a href="{prefix}history.csv">{prefix}history.csv</a></p>')
    return sections


def _learning_curves(plt: Any, data: ReportData) -> Any:
    if "loss" not in data.history:
        return None
    epochs = np.arange(1, len(data.history["loss"]) + 1)
    shown = [m for m in ("loss", "accuracy") if m in data.history]
    figure, axes = plt.subplots(1, len(shown), figsize=(5.5 * len(shown), 4), squeeze=False)
    for ax, metric in zip(axes[0], shown):
        for prefix, label in (("", "train"), ("val_", "validation")):
            if prefix + metric in data.history:
                ax.plot(epochs, data.history[prefix + metric], marker="." if len(epochs) <= 30 else None,
                        label=label)
        if data.best_epoch:
            ax.axvline(data.best_epoch, color="grey", linestyle="--", label=f"kept: epoch {data.best_epoch}")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if metric == "loss":
            ax.set_yscale("log")  # the late epochs' gains stay visible
        ax.grid(alpha=0.3)
        ax.legend()
    return figure


def _confusion(plt: Any, metrics: dict[str, np.ndarray], classes: list[str]) -> Any:
    if "confusion" not in metrics:
        return None
    counts = metrics["confusion"]
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # colour: share of the true class
    side = min(4 + 0.45 * len(classes), 18)
    figure, ax = plt.subplots(figsize=(side + 1.5, side))
    shown = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, [_short(c) for c in classes], rotation=90 if len(classes) > 10 else 0)
    ax.set_yticks(ticks, [_short(c) for c in classes])
    ax.set(xlabel="predicted", ylabel="true")
    if len(classes) <= 30:
        for (i, j), count in np.ndenumerate(counts):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    figure.colorbar(shown, ax=ax, label="share of the true class")
    return figure


def _per_class(plt: Any, metrics: dict[str, np.ndarray], classes: list[str]) -> Any:
    if "precision" not in metrics:
        return None
    rows = np.arange(len(classes))
    figure, ax = plt.subplots(figsize=(8, 1.5 + 0.35 * len(classes)))
    ax.barh(rows - 0.2, metrics["precision"], height=0.4, label="precision")
    ax.barh(rows + 0.2, metrics["recall"], height=0.4, label="recall")
    ax.set_yticks(rows, [_short(c) for c in classes])
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.05), xlabel="on the held-out rows")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return figure


def _roc(plt: Any, metrics: dict[str, np.ndarray]) -> Any:
    if "roc_fpr" not in metrics:
        return None
    figure, ax = plt.subplots(figsize=(5, 5))
    ax.plot(metrics["roc_fpr"], metrics["roc_tpr"], label=f"AUC {float(metrics['auc']):.4f}")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return figure


def _predicted_vs_actual(plt: Any, metrics: dict[str, np.ndarray]) -> Any:
    if "predicted" not in metrics:
        return None
    truth, predicted = metrics["truth"], metrics["predicted"]
    figure, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(truth, predicted, s=8, alpha=0.5)
    low, high = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
    ax.plot([low, high], [low, high], color="grey", linestyle="--", label="perfect")
    ax.set(xlabel="actual", ylabel="predicted", title=f"RMSE {float(metrics['rmse']):.4g}, R² {float(metrics['r2']):.3f}")
    ax.grid(alpha=0.3)
    ax.legend()
    return figure


def _residuals(plt: Any, metrics: dict[str, np.ndarray]) -> Any:
    if "predicted" not in metrics:
        return None
    residual = metrics["truth"] - metrics["predicted"]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].scatter(metrics["predicted"], residual, s=8, alpha=0.5)
    axes[0].axhline(0, color="grey", linestyle="--")
    axes[0].set(xlabel="predicted", ylabel="actual - predicted")
    axes[1].hist(residual, bins=40)
    axes[1].set(xlabel="actual - predicted", ylabel="rows")
    for ax in axes:
        ax.grid(alpha=0.3)
    return figure


def _mistakes(plt: Any, data: ReportData, classes: list[str]) -> Any:
    if data.images is None or "probs" not in data.metrics:
        return None
    probs = data.metrics["probs"]
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != data.truth)
    if not len(wrong):
        return None
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")][:MISTAKES]
    columns = min(8, len(wrong))
    grid_rows = -(-len(wrong) // columns)
    figure, axes = plt.subplots(grid_rows, columns, figsize=(1.7 * columns, 2.1 * grid_rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, row in zip(axes.flat, wrong):
        image = data.images[row]
        if image.shape[-1] == 3:
            ax.imshow(np.clip(image, 0, 1))
        else:
            ax.imshow(image[..., 0], cmap="gray_r")
        ax.set_title(f"true {_short(classes[data.truth[row]])}\npred {_short(classes[predicted[row]])} "
                     f"({probs[row, predicted[row]]:.2f})", fontsize=8)
    return figure


def _importance(plt: Any, data: ReportData) -> Any:
    if "importance_mean" not in data.metrics:
        return None
    mean, std = data.metrics["importance_mean"], data.metrics["importance_std"]
    top = np.argsort(-mean, kind="stable")[:TOP_FEATURES]
    figure, ax = plt.subplots(figsize=(8, 1.5 + 0.35 * len(top)))
    ax.barh(np.arange(len(top)), mean[top], xerr=std[top], color="tab:green")
    names = [str(c) for c in data.metrics["importance_columns"]]
    ax.set_yticks(np.arange(len(top)), [_short(names[i], 24) for i in top])
    ax.invert_yaxis()
    metric = str(data.metrics.get("metric", "accuracy"))
    ax.set(xlabel=f"how much validation {metric} worsens when the column is shuffled")
    ax.grid(axis="x", alpha=0.3)
    return figure


def _class_table(metrics: dict[str, np.ndarray], classes: list[str]) -> str:
    support = metrics["confusion"].sum(axis=1)
    rows = "".join(
        f"<tr><td>{html.escape(c)}</td><td>{p:.3f}</td><td>{r:.3f}</td><td>{n}</td></tr>"
        for c, p, r, n in zip(classes, metrics["precision"], metrics["recall"], support)
    )
    return ("<table><tr><th>class</th><th>precision</th><th>recall</th><th>held-out rows</th></tr>"
            f"{rows}</table>")


def _summary(data: ReportData) -> str:
    record = metrics_record(data.metrics)
    others = ", ".join(f"{name.replace('_', ' ')} {record[name]:.4f}" for name in SCALARS
                       if name in record and name.replace("_", "") != record["metric"])
    of = f" of {record['positive']!r}" if "positive" in record and record["metric"] in ("auc", "f1") else ""
    return (f"<p>Model <b>{html.escape(data.model)}</b>; validation {html.escape(record['metric'] + of)} "
            f"<b>{record['score']:.4f}</b>{', ' + others if others else ''}, on {record['n_val']} held-out rows"
            + (f"; weights kept from epoch {data.best_epoch} of {len(data.history['loss'])}."
               if "loss" in data.history else ".") + "</p>" + _leaderboard_table(record) + _text_tables(record))


def _text_tables(record: dict[str, Any]) -> str:
    """What the text model learned (the words that push each class most) and the rows the
    model was surest of and wrong, with their text."""
    parts = []
    if record.get("text_terms"):
        cells = "".join(f"<tr><td>{html.escape(label)}</td><td style='text-align:left'>"
                        + ", ".join(f"{html.escape(term)} ({weight:+.2f})" for term, weight in terms) + "</td></tr>"
                        for label, terms in record["text_terms"].items())
        parts.append("<h2>Text: the words that push each answer most</h2><table><tr><th>towards</th>"
                     f"<th>words and word pairs (the text model's weights)</th></tr>{cells}</table>")
    if record.get("surest_mistakes"):
        cells = "".join(f"<tr><td style='text-align:left'>{html.escape(row['text'])}</td><td>"
                        f"{html.escape(row['predicted'])}</td><td>{html.escape(row['truth'])}</td>"
                        f"<td>{row['sureness']:.3f}</td></tr>" for row in record["surest_mistakes"])
        parts.append("<h2>Text: the surest mistakes</h2><table><tr><th>text</th><th>predicted</th><th>truth</th>"
                     f"<th>probability (a number's error)</th></tr>{cells}</table>")
    return "".join(parts)


def _leaderboard_table(record: dict[str, Any]) -> str:
    if not record.get("leaderboard"):
        return ""
    cells = "".join(
        f"<tr><td>{html.escape(row['model'])}{' (kept)' if row['kept'] else ''}</td><td>{row['score']:.4f}</td>"
        f"<td>{'' if row['spread'] is None else format(row['spread'], '.4f')}</td>"
        f"<td>{'' if row['seconds'] is None else format(row['seconds'], '.1f')}</td>"
        f"<td>{'' if row.get('weight') is None else format(row['weight'], '.2f')}</td></tr>"
        for row in record["leaderboard"])
    return (f"<table><tr><th>model</th><th>{html.escape(record['metric'])}</th><th>± over folds</th>"
            f"<th>seconds</th><th>weight in the blend</th></tr>{cells}</table>")


def _page(targets: list[tuple[str, ReportData]], key: str, sections: list[str]) -> str:
    if len(targets) == 1:
        summary = _summary(targets[0][1])
    else:
        scores = [(name, metrics_record(data.metrics)) for name, data in targets]
        mean = float(np.mean([record["score"] for _, record in scores]))
        summary = (f"<p>{len(targets)} targets, scored by the mean of their scores: <b>{mean:.4f}</b> ("
                   + ", ".join(f"{html.escape(name)}: {html.escape(r['metric'])} {r['score']:.4f}" for name, r in scores)
                   + ").</p>")
    body = "\n".join(sections)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="pipeline-key" content="{key}">
<title>Validation report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}img{{max-width:100%}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}</style>
</head><body>
<h1>Validation report</h1>
{summary}
<p><a href="metrics.json">metrics.json</a></p>
{body}
</body></html>
"""


def _short(text: str, width: int = 12) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
