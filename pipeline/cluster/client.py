"""The Dask client the cluster stages run on: a LocalCluster on this machine (`local`), or a
running scheduler's address; one per process, started when a stage first asks for it."""

from __future__ import annotations

import atexit
import importlib.util
import os
from typing import Any, Callable

from pipeline.errors import PipelineError

EXTRA = "pip install '.[dask]'"  # what installs the engine
LOCAL_WORKERS = 4  # at most, one process each with one thread; never more than the cores
_clients: dict[str, Any] = {}  # by address
_clusters: list[Any] = []  # the local ones started here


def connect(address: str, info: Callable[[str], None]) -> Any:
    """The distributed.Client for `address` ("local" or a scheduler's), made the default
    one, and its dashboard's address said once."""
    if address in _clients:
        return _clients[address]
    missing = [m for m in ("dask", "distributed", "lightgbm") if importlib.util.find_spec(m) is None]
    if missing:
        raise PipelineError(f"--cluster {address} needs {', '.join(missing)}: {EXTRA}, or --cluster '' for this "
                            f"process alone")
    from distributed import Client, LocalCluster

    if address == "local":
        workers = max(1, min(LOCAL_WORKERS, os.cpu_count() or 1))
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        _clusters.append(cluster)
        where = f"a local cluster of {workers} worker process(es), {_memory(client)}"
    else:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise PipelineError(f"--cluster {address}: no Dask scheduler answers ({exc}); start one (dask scheduler, "
                                f"dask worker {address}) or use --cluster local") from None
        where = f"{address}: {len(client.scheduler_info()['workers'])} worker(s), {_memory(client)}"
    info(f"Dask: {where}; dashboard {client.dashboard_link}")
    if not _clients:
        atexit.register(close)
    _clients[address] = client
    return client


def close() -> None:
    """Close the clients (and the local cluster) this process started."""
    while _clients:
        _clients.popitem()[1].close()
    while _clusters:
        _clusters.pop().close()


def worker_memory(client: Any) -> int:
    """The bytes the smallest worker may use (its memory limit, or this machine's memory)."""
    limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
    return min(limits) if limits and min(limits) > 0 else os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _memory(client: Any) -> str:
    workers = client.scheduler_info()["workers"]
    return f"{worker_memory(client) / 2**30:.1f} GB each" if workers else "no workers yet"
