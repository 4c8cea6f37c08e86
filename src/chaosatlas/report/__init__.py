"""The Snakemake report's tables and figures (``rules/report.smk``).

:mod:`~chaosatlas.report.tables` renders products as HTML tables,
:mod:`~chaosatlas.report.figures` draws matplotlib figures from plain arrays and
:mod:`~chaosatlas.report.build` turns product files into report items. This
module imports neither (matplotlib stays out of the workflow's parse time).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["featured_systems"]


def featured_systems(forecast_systems: Sequence[str], limit: int = 6) -> list[str]:
    """Systems drawn large in the report: the forecast systems, at most ``limit``.

    Pass ``ForecastSettings.from_config(config).systems`` (it resolves
    ``systems: all``); a whole-catalogue run keeps the first ``limit``.
    """
    return list(forecast_systems)[:limit]
