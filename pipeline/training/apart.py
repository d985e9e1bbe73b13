"""Fit a learner in a process of its own, so that all the memory it took goes back to the
system when that process ends: the train stage does so for a learner that keeps memory after
fitting (`Learner.retains`) on a large table. CatBoost's library keeps about 0.5 GB after
fitting 900,000 rows, which neither `gc` nor glibc's `malloc_trim` gets back (its allocator is
its own), and the network that trains after it stacked its peak on that. The child costs its
imports (0.2 GB) and a copy of the rows, so the others, which give their memory back, stay.

The process is spawned, not forked: the parent may already run OpenMP's, TensorFlow's or
CatBoost's threads, which a forked child can deadlock on. It gets the rows and the job
pickled, and sends the fitted model back; the progress it reports (`job.plan`'s hooks) travels
back through a queue and reaches the parent's hooks as if the fit ran there. The fit is the
same computation either way, so its result is the same.
"""

from __future__ import annotations

import copy
import dataclasses
import multiprocessing
import pickle
import queue
from typing import Any, Callable

import numpy as np

from pipeline.errors import PipelineError

HOOKS = ("on_epoch", "on_batch")  # what a plan reports through


class _Relay:
    """A plan's hook in the child: its calls go to the parent."""

    def __init__(self, messages: Any, hook: str) -> None:
        self.messages, self.hook = messages, hook

    def __call__(self, *args: Any) -> None:
        self.messages.put((self.hook, args))


def fitted_apart(fit: Callable[..., Any], x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray,
                 stop_idx: np.ndarray | None, job: Any, learner: str = "") -> Any:
    """`fit(x, y, fit_idx, stop_idx, job)` (the bound `fit` of the learner named `learner`, and
    its pipeline.learners.Job and Fitted), run in a spawned process."""
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    plan = copy.copy(job.plan)
    for hook in HOOKS:
        if getattr(plan, hook) is not None:
            setattr(plan, hook, _Relay(messages, hook))
    child = context.Process(target=_fit, args=(fit, x, y, fit_idx, stop_idx, dataclasses.replace(job, plan=plan),
                                                messages), daemon=True)
    child.start()
    try:
        while True:
            try:
                kind, payload = messages.get(timeout=1.0)
            except queue.Empty:
                if not child.is_alive():
                    raise PipelineError(
                        f"the process fitting {learner or 'a learner'} ({job.name}) ended (exit code {child.exitcode}) "
                        f"before it finished, most likely out of memory; free memory, or train on a cluster "
                        f"(--cluster local)") from None
                continue
            if kind == "done":
                return payload
            if kind == "failed":
                raise payload
            getattr(job.plan, kind)(*payload)
    finally:
        child.join(timeout=10)
        if child.is_alive():  # the parent was interrupted: the fit is not wanted any more
            child.terminate()


def _fit(fit: Callable[..., Any], x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray,
         stop_idx: np.ndarray | None, job: Any, messages: Any) -> None:
    try:
        messages.put(("done", fit(x, y, fit_idx, stop_idx, job)))
    except Exception as error:  # raised again in the parent, as if the fit ran there
        try:
            pickle.dumps(error)
        except Exception:  # an error that cannot travel: its words can
            error = RuntimeError(f"{type(error).__name__}: {error}")
        messages.put(("failed", error))
