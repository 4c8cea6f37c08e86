"""A dask.distributed client from the config: local, an existing scheduler, or SLURM.

```yaml
dask:
  cluster: local        # local | address | slurm
  address: null         # tcp://host:8786 when cluster is "address"
  memory_limit: auto    # per worker: auto, or a size such as "2GB"
  stall_timeout: 60     # s with every worker paused on memory and nothing finishing
  slurm:                # dask-jobqueue SLURMCluster settings when cluster is "slurm"
    cores: 4
    memory: 8GB
    walltime: "01:00:00"
    queue: null
    account: null
    interface: null
    jobs: 2
```

Memory: one task of the default config peaks at 360-390 MiB from a cold cache
(compile, probe and diagnostics), 615 MiB for the delay equation ScrollDelay
(benchmarks/README.md section 11), and distributed pauses a worker at 80% of
its limit. A limit below :data:`WORKER_MEMORY_FLOOR` is refused
before any worker starts. ``auto`` is the machine's memory split over the
workers, or, inside a SLURM job, the job's memory split over the rule's
threads. A worker that is paused and idle while tasks wait never resumes by
itself (numba keeps what it compiled): :func:`wait_for_tasks` turns that into
:class:`ClusterStalled` after ``dask.stall_timeout`` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

log = logging.getLogger(__name__)

#: Smallest worker memory limit accepted (bytes): the largest measured peak RSS
#: of a default-config task from a cold cache (615 MiB, ScrollDelay) plus the
#: worker's own ~50 MiB, over distributed's pause threshold of 80% (831 MiB),
#: with room for what numba keeps between worker restarts.
WORKER_MEMORY_FLOOR = 1_000_000_000
#: Seconds with every worker paused (or none alive) and no task finished.
DEFAULT_STALL_TIMEOUT = 60.0
#: Log which tasks are still running when nothing finished for this long (s).
STILL_RUNNING_AFTER = 60.0
_POLL = 2.0


class ClusterError(RuntimeError):
    """The dask cluster cannot run the stage (memory, no workers): a config problem."""


class ClusterStalled(ClusterError):
    """Every worker is paused on memory (or gone) and no task finished for a while."""


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def _slurm_job_memory() -> int | None:
    """The memory of the SLURM job this process runs in (bytes), if any."""
    if not os.environ.get("SLURM_JOB_ID"):
        return None
    per_node = os.environ.get("SLURM_MEM_PER_NODE")
    if per_node:
        return int(per_node) * 2**20
    per_cpu = os.environ.get("SLURM_MEM_PER_CPU")
    cpus = os.environ.get("SLURM_CPUS_ON_NODE") or os.environ.get("SLURM_CPUS_PER_TASK")
    if per_cpu and cpus:
        return int(per_cpu) * int(cpus) * 2**20
    return None


def worker_memory_limit(settings: Mapping[str, Any] | None, threads: int = 1) -> int | None:
    """Memory limit per dask worker (bytes) the config asks for; ``None`` if unknown.

    Parameters
    ----------
    settings : mapping
        The ``dask`` section of the config.
    threads : int
        Workers of a local cluster (the rule's threads).

    Raises
    ------
    ClusterError
        When the limit is not a size, or is below :data:`WORKER_MEMORY_FLOOR`;
        the message names the config key that sets it.
    """
    from dask.utils import parse_bytes

    settings = dict(settings or {})
    kind = settings.get("cluster", "local")
    n = max(1, int(threads))
    if kind == "address":
        return None  # the external cluster's own business
    if kind == "slurm":
        slurm = dict(settings.get("slurm") or {})
        key = "dask.slurm.memory"
        value = slurm.get("memory")
        if value is None:
            return None
        per = max(1, int(slurm.get("processes") or 1))
    else:
        key = "dask.memory_limit"
        value = settings.get("memory_limit") or "auto"
        per = 1
    if value == "auto":
        job = _slurm_job_memory()
        if job is not None:
            limit, how = job // n, f"the SLURM job's {_mib(job)} over {n} worker(s)"
        else:
            import psutil

            limit, how = psutil.virtual_memory().total // n, f"this machine's memory over {n}"
    else:
        try:
            limit, how = parse_bytes(str(value)) // per, f"{key} = {value!r}"
        except (ValueError, TypeError) as exc:
            raise ClusterError(
                f"config key {key!r}: {value!r} is not a size such as '2GB'"
            ) from exc
        if per > 1:
            how += f" over {per} processes"
    if limit < WORKER_MEMORY_FLOOR:
        hint = (
            "give the rule more memory (mem_mb) or fewer threads, or set dask.memory_limit"
            if value == "auto"
            else f"raise {key}"
        )
        raise ClusterError(
            f"dask worker memory {_mib(limit)} ({how}) is below the 1 GB "
            f"a worker needs to compile a system from a cold cache: {hint}"
        )
    return int(limit)


@contextlib.contextmanager
def dask_client(settings: Mapping[str, Any] | None, threads: int = 1) -> Iterator[Any]:
    """Yield a ``distributed.Client`` as the config says, and shut it down after.

    Parameters
    ----------
    settings : mapping
        The ``dask`` section of the config.
    threads : int
        Cores the rule was given; a local cluster gets that many
        single-threaded worker processes (numba kernels release nothing to
        share, and one thread per process keeps Blosc/BLAS deterministic).
    """
    from distributed import Client, LocalCluster

    settings = dict(settings or {})
    kind = settings.get("cluster", "local")
    limit = worker_memory_limit(settings, threads)  # refuse a hopeless limit before starting
    # Workers inherit this process's environment: the numba/codegen cache and
    # single-threaded BLAS keep results identical however work is spread.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    if kind == "local":
        n = max(1, int(threads))
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=n > 1,
            dashboard_address=None,
            memory_limit=limit,
            silence_logs=logging.WARNING,
        )
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
    elif kind == "address":
        address = settings.get("address")
        if not address:
            raise ClusterError(
                "config key 'dask.address' must be set when dask.cluster is 'address'"
            )
        client = Client(address)
        try:
            yield client
        finally:
            client.close()
    elif kind == "slurm":
        from dask_jobqueue import SLURMCluster

        slurm = dict(settings.get("slurm") or {})
        jobs = int(slurm.pop("jobs", 1))
        slurm = {k: v for k, v in slurm.items() if v is not None}
        cluster = SLURMCluster(**slurm)
        cluster.scale(jobs=jobs)
        client = Client(cluster)
        try:
            timeout = float(settings.get("worker_timeout", 600))
            try:
                client.wait_for_workers(1, timeout=timeout)
            except TimeoutError as exc:
                raise ClusterError(
                    f"no dask worker joined within {timeout:.0f} s (dask.worker_timeout): "
                    "are the dask-worker jobs pending in squeue?"
                ) from exc
            yield client
        finally:
            client.close()
            cluster.close()
    else:
        raise ClusterError(
            f"config key 'dask.cluster' must be local, address or slurm, got {kind!r}"
        )


def _stuck_workers(client: Any) -> tuple[bool, str]:
    """Whether no worker can start a task, and a description of each worker."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    if not workers:
        return True, "no dask worker is alive (each was killed or restarted)"
    parts, stuck = [], True
    for w in workers.values():
        status = str(w.get("status", "running"))
        metrics = w.get("metrics") or {}
        executing = int((metrics.get("task_counts") or {}).get("executing", 0))
        limit, memory = w.get("memory_limit") or 0, metrics.get("memory") or 0
        where = f"{_mib(memory)} of {_mib(limit)}" if limit else _mib(memory)
        parts.append(f"{status} at {where}")
        if status != "paused" or executing:
            stuck = False
    return stuck, "dask worker(s) " + "; ".join(parts)


def wait_for_tasks(
    client: Any,
    futures: Iterable[Any],
    what: str,
    settings: Mapping[str, Any] | None = None,
    label: Any = str,
) -> Iterator[Any]:
    """Yield futures as they finish; raise when the cluster can no longer make progress.

    Every ``STILL_RUNNING_AFTER`` seconds without a finished task, the tasks
    still running are logged. When every worker is paused on memory and idle,
    or none is alive, for ``dask.stall_timeout`` seconds, the remaining
    futures are cancelled and :class:`ClusterStalled` names memory, the worker
    limits, the config key and the tasks that were waiting.

    Parameters
    ----------
    label : callable
        ``label(future) -> str``, the name of a task in messages.
    """
    from distributed import wait

    settings = dict(settings or {})
    stall_timeout = float(settings.get("stall_timeout", DEFAULT_STALL_TIMEOUT))
    key = "dask.slurm.memory" if settings.get("cluster") == "slurm" else "dask.memory_limit"
    pending = set(futures)
    last_done = last_said = time.monotonic()
    stuck_since: float | None = None
    while pending:
        try:
            finished, pending = wait(pending, timeout=_POLL, return_when="FIRST_COMPLETED")
        except TimeoutError:
            now = time.monotonic()
            stuck, workers = _stuck_workers(client)
            stuck_since = (stuck_since or now) if stuck else None
            if stuck_since is not None and now - stuck_since >= stall_timeout:
                names = sorted(label(f) for f in pending)
                for f in pending:
                    f.cancel()
                raise ClusterStalled(
                    f"{what}: no task can run: {workers}, idle for {now - stuck_since:.0f} s "
                    f"(dask.stall_timeout); distributed pauses a worker at 80% of its memory "
                    f"limit: raise {key}. Waiting: {', '.join(names[:10])}"
                    + (f" and {len(names) - 10} more" if len(names) > 10 else "")
                ) from None
            if now - max(last_done, last_said) >= STILL_RUNNING_AFTER:
                last_said = now
                running = sorted(str(k) for ks in client.processing().values() for k in ks)
                log.info(
                    "%s: nothing finished for %.0f s; running: %s; %s",
                    what, now - last_done, ", ".join(running[:8]) or "none", workers,
                )  # fmt: skip
            continue
        last_done, stuck_since = time.monotonic(), None
        yield from sorted(finished, key=label)


def killed_worker_reason(exc: BaseException, settings: Mapping[str, Any] | None) -> str:
    """The reason recorded for a task whose worker died every time it ran it."""
    settings = dict(settings or {})
    key = "dask.slurm.memory" if settings.get("cluster") == "slurm" else "dask.memory_limit"
    return (
        f"{type(exc).__name__}: the worker running it died on each of its tries "
        f"(killed by the OS, a crash in compiled code, or the nanny at 95% of {key}): {exc}"
    )
