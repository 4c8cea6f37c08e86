"""A dask.distributed client from the config: local, an existing scheduler, or SLURM.

```yaml
dask:
  cluster: local        # local | address | slurm
  address: null         # tcp://host:8786 when cluster is "address"
  slurm:                # dask-jobqueue SLURMCluster settings when cluster is "slurm"
    cores: 4
    memory: 8GB
    walltime: "01:00:00"
    queue: null
    account: null
    interface: null
    jobs: 2
```
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

log = logging.getLogger(__name__)


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
            memory_limit=settings.get("memory_limit", "auto"),
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
            raise ValueError("dask.cluster is 'address' but dask.address is not set")
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
            client.wait_for_workers(1, timeout=float(settings.get("worker_timeout", 600)))
            yield client
        finally:
            client.close()
            cluster.close()
    else:
        raise ValueError(f"dask.cluster must be local, address or slurm, got {kind!r}")
