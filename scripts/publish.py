"""Snakemake adapter: rule publish -> chaosatlas.publish.write_index."""

from pathlib import Path

from chaosatlas.logs import log_to
from chaosatlas.publish import write_index


def main(smk) -> None:
    with log_to(smk.log[0]):
        out = write_index(Path(smk.output[0]).parent)
        if out != Path(smk.output[0]):
            raise RuntimeError(f"write_index wrote {out}, expected {smk.output[0]}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
