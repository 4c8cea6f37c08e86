"""chaosatlas: reproducible data products about chaotic dynamical systems."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]


def open(name_or_path_or_url, **kw):  # noqa: A001 - chaosatlas.open, like xarray.open_dataset
    """Open any product by name, path or URL (see :func:`chaosatlas.publish.open`)."""
    from .publish import open as _open

    return _open(name_or_path_or_url, **kw)


__all__ += ["open"]
