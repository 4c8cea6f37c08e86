"""The one error the catalogue raises for bad input."""

from __future__ import annotations


class CatalogueError(ValueError):
    """Bad catalogue input, naming the file, the system and the key.

    Parameters
    ----------
    message : str
        What is wrong.
    file : str, optional
        The YAML file (or ``"<string>"``).
    system : str, optional
        The system's name, where known.
    key : str, optional
        The offending key, e.g. ``"equations.x"`` or ``"initial_state"``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        system: str | None = None,
        key: str | None = None,
    ) -> None:
        self.file = file
        self.system = system
        self.key = key
        self.detail = message
        where = []
        if file is not None:
            where.append(f"file {file}")
        if system is not None:
            where.append(f"system {system!r}")
        if key is not None:
            where.append(f"key {key!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
