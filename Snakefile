"""chaosatlas: catalogue -> trajectories and diagnostics -> forecast leaderboard, causal benchmarks.

Run `snakemake --cores all`, then `snakemake --report results/report.html`;
the default profile is workflow/profiles/default.
"""

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from chaosatlas.config import ConfigError, check_config

min_version("9.0")


configfile: "config/config.yaml"


# schema (workflow/schemas/config.schema.yaml) and catalogue: one error naming the key
try:
    check_config(config, source=", ".join(map(str, workflow.configfiles)) or "config")
except ConfigError as error:
    raise WorkflowError(str(error)) from None


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/catalogue.smk"
include: "rules/integrate.smk"
include: "rules/diagnostics.smk"
include: "rules/train.smk"
include: "rules/causal.smk"
include: "rules/report.smk"
include: "rules/publish.smk"


rule all:
    default_target: True
    input:
        data_products(),
        report_products(),
        "results/index.json",
