"""The Snakemake report's tables and figures (``rules/report.smk``).

:mod:`~chaosatlas.report.tables` renders products as HTML tables,
:mod:`~chaosatlas.report.figures` draws matplotlib figures from plain arrays and
:mod:`~chaosatlas.report.build` turns product files into report items.
"""
