"""Logging for workflow scripts: to the rule's log file and to stderr."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def log_to(path: str | os.PathLike[str], level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send the ``chaosatlas`` logger to ``path`` and stderr while the block runs.

    An exception escaping the block is logged with its traceback before it
    propagates, so the rule's log says why it failed.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("chaosatlas")
    logger.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [
        logging.FileHandler(path, mode="w"),
        logging.StreamHandler(sys.stderr),
    ]
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    try:
        yield logger
    except BaseException:
        logger.exception("failed")
        raise
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
