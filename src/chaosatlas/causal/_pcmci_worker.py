"""Run PCMCI or PCMCI+ (tigramite) on one array; the only module that imports tigramite.

tigramite is GPL-3.0 and an optional extra of chaosatlas
(``pip install chaosatlas[pcmci]``). It is never imported into the process
that uses chaosatlas: :func:`chaosatlas.causal.pcmci.run_pcmci` runs this
module as its own process and reads back plain arrays::

    python -m chaosatlas.causal._pcmci_worker IN.npy OUT.npz VARIANT TAU_MAX PC_ALPHA ALPHA_LEVEL

``IN.npy`` holds ``X`` (time, nodes), already checked and z-scored by the
caller. ``VARIANT`` is ``pcmci`` (``run_pcmci(tau_min=1, ...)``) or
``pcmciplus`` (``run_pcmciplus(tau_min=0, ...)``); the test is
``ParCorr(significance='analytic')``. ``PC_ALPHA`` is a float, or ``none`` for
tigramite's own choice (PCMCI: pc_alpha selected by AIC from a list).
``OUT.npz`` receives ``val_matrix``, ``p_matrix`` (float64) and ``graph``
(unicode), each ``(N, N, tau_max + 1)`` indexed ``[source, target, lag]``,
plus ``runtime_s`` (the tigramite call alone) and ``tigramite_version``.

Exit status: 0 done; 3 tigramite cannot be imported (message on stderr);
2 bad arguments; anything else a failure inside tigramite (traceback on
stderr).
"""

from __future__ import annotations

import sys
import time

EXIT_UNAVAILABLE = 3
EXIT_USAGE = 2
VARIANTS = ("pcmci", "pcmciplus")


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print(
            "usage: python -m chaosatlas.causal._pcmci_worker "
            "IN.npy OUT.npz VARIANT TAU_MAX PC_ALPHA ALPHA_LEVEL",
            file=sys.stderr,
        )
        return EXIT_USAGE
    in_path, out_path, variant, tau_max_s, pc_alpha_s, alpha_level_s = argv
    if variant not in VARIANTS:
        print(f"variant must be one of {VARIANTS}, got {variant!r}", file=sys.stderr)
        return EXIT_USAGE
    try:
        tau_max = int(tau_max_s)
        pc_alpha = None if pc_alpha_s.lower() == "none" else float(pc_alpha_s)
        alpha_level = float(alpha_level_s)
    except ValueError as exc:
        print(f"bad numeric argument: {exc}", file=sys.stderr)
        return EXIT_USAGE

    try:
        from tigramite import data_processing as pp
        from tigramite.independence_tests.parcorr import ParCorr
        from tigramite.pcmci import PCMCI
    except ImportError as exc:
        print(f"cannot import tigramite: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE

    from importlib.metadata import PackageNotFoundError, version

    import numpy as np

    try:
        tigramite_version = version("tigramite")
    except PackageNotFoundError:  # importable but not installed as a distribution
        tigramite_version = ""
    X = np.load(in_path, allow_pickle=False)
    model = PCMCI(
        dataframe=pp.DataFrame(X),
        cond_ind_test=ParCorr(significance="analytic"),
        verbosity=0,
    )
    start = time.perf_counter()
    if variant == "pcmci":
        res = model.run_pcmci(
            tau_min=1, tau_max=tau_max, pc_alpha=pc_alpha, alpha_level=alpha_level
        )
    else:
        res = model.run_pcmciplus(tau_min=0, tau_max=tau_max, pc_alpha=pc_alpha)
    runtime = time.perf_counter() - start
    np.savez(
        out_path,
        val_matrix=np.asarray(res["val_matrix"], dtype=np.float64),
        p_matrix=np.asarray(res["p_matrix"], dtype=np.float64),
        graph=np.asarray(res["graph"]).astype(str),
        runtime_s=np.float64(runtime),
        tigramite_version=np.str_(tigramite_version),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
