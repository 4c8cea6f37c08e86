"""Fault injection for the reliability tests: make a chosen task fail on purpose.

Inactive unless ``CHAOSATLAS_FAULTS`` is set. The tests set it for a whole
workflow run (dask workers inherit the environment) to kill a worker, or to
hold memory, at a precise point of a chosen task. Each fault is
``action@stage:system`` or ``action@stage:system:block``; several are joined
by ``;``. ``system`` may be ``*``.

Actions:

- ``kill_worker``: SIGKILL the process running the task, every time (a poison task).
- ``kill_worker_once``: the same, once per run; needs ``CHAOSATLAS_FAULTS_STATE``,
  a folder where a marker file records that it fired.
- ``hold_memory``: allocate and keep memory up to 82% of the dask worker's
  memory limit, so the worker pauses (distributed pauses at 80%).

Stages and points: ``catalogue`` (before the probe), ``diagnostics`` (before
the diagnostics), ``integrate`` (after the block's region is written, before
the task returns: the worst moment for a kill).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

ENV = "CHAOSATLAS_FAULTS"
STATE_ENV = "CHAOSATLAS_FAULTS_STATE"
ACTIONS = ("kill_worker", "kill_worker_once", "hold_memory")
_HELD: list[bytearray] = []


def _matches(target: str, stage: str, system: str, block: int | None) -> bool:
    parts = target.split(":")
    if parts[0] != stage or len(parts) < 2 or parts[1] not in (system, "*"):
        return False
    return len(parts) < 3 or (block is not None and parts[2] == str(block))


def inject(stage: str, system: str, block: int | None = None) -> None:
    """Fire the faults of ``CHAOSATLAS_FAULTS`` that name this point; a no-op otherwise."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    for item in filter(None, (s.strip() for s in spec.split(";"))):
        action, _, target = item.partition("@")
        if action not in ACTIONS:
            raise ValueError(f"{ENV}: unknown action {action!r} in {item!r}")
        if not _matches(target, stage, system, block):
            continue
        if action == "kill_worker":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "kill_worker_once":
            state = os.environ.get(STATE_ENV)
            if not state:
                raise ValueError(f"{ENV}: kill_worker_once needs {STATE_ENV}")
            marker = Path(state) / item.replace("/", "_").replace(":", "_").replace("*", "all")
            try:
                marker.touch(exist_ok=False)
            except FileExistsError:
                continue
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "hold_memory":
            _hold_memory()


def _hold_memory(fraction: float = 0.82) -> None:
    import psutil
    from distributed import get_worker

    limit = get_worker().memory_manager.memory_limit
    if not limit:
        return
    need = int(fraction * limit) - psutil.Process().memory_info().rss
    # above distributed's pause (80%), below its kill (95%) with room for a compile
    if need > 0:
        block = bytearray(need)
        block[::4096] = b"\1" * len(block[::4096])  # touch every page: make it resident
        _HELD.append(block)


SHUFFLE_ENV = "CHAOSATLAS_SHUFFLE_TASKS"


def task_order(items: list) -> list:
    """``items`` in the order tasks are submitted: shuffled by the seed in
    ``CHAOSATLAS_SHUFFLE_TASKS`` when it is set (the determinism tests: products
    must not depend on which task runs or finishes first), unchanged otherwise."""
    seed = os.environ.get(SHUFFLE_ENV)
    if not seed:
        return list(items)
    import random

    shuffled = list(items)
    random.Random(int(seed)).shuffle(shuffled)
    return shuffled
