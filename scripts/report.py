"""Snakemake adapter: the report_* rules -> chaosatlas.report.build."""

from chaosatlas.logs import log_to
from chaosatlas.report import build


def main(smk) -> None:
    rule, i, o = smk.rule, smk.input, smk.output
    with log_to(smk.log[0]):
        if rule == "report_catalogue":
            build.report_catalogue(i.catalogue, o[0])
        elif rule == "report_attractor_grid":
            build.report_attractor_grid(i.store, o[0])
        elif rule == "report_attractor":
            build.report_attractor(i.store, smk.wildcards.system, o[0])
        elif rule == "report_invariants":
            build.report_invariants(i.invariants, o.table, o.figure)
        elif rule == "report_forecast":
            build.report_forecast(
                dict(smk.config), i.forecast, list(i.checkpoints), i.test,
                o.leaderboard, o.rollouts, o.long_term, o.summary,
            )  # fmt: skip
        elif rule == "report_causal":
            build.report_causal(dict(smk.config), list(i.data), list(i.predictions), o[0])
        else:
            raise ValueError(f"scripts/report.py has no handler for rule {rule!r}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
