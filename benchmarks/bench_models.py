"""Training step time and peak memory of each neural forecaster at the spec's default sizes.

Run: .venv/bin/python benchmarks/bench_models.py [out.json] [--device cpu|cuda]

Context 96, horizon 48 (the spec's context = 2 x horizon), 3 variables
(Lorenz), batch 32; Koopa: dynamic_dim 128, hidden_dim 64, 3 blocks (seg_len
chosen so that at least 4 segments fit); DeepEDM: delay 7, projection 64, 1
block; STU: d_model 256, K 24, 2 layers. One model per child process; after 3
warm-up steps, the median of 20 full steps (forward, loss, backward, optimiser
step) and the peak resident memory growth during them (CPU), or the CUDA peak
allocation (GPU).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
from _memory import peak_mb, reset_peak  # noqa: E402

CONTEXT, HORIZON, N_VARS, BATCH = 96, 48, 3, 32
MODELS = ("koopa", "deepedm", "stu")


def child(name: str, device: str) -> dict:
    import numpy as np
    import torch

    from chaosatlas.models import Forecaster
    from chaosatlas.models.training import _optimiser

    torch.manual_seed(0)
    torch.set_num_threads(1)
    f = Forecaster(name, CONTEXT, HORIZON, N_VARS)
    model = f.model.to(device)
    rng = np.random.default_rng(0)
    t = np.arange(CONTEXT + HORIZON + 64) * 0.05
    series = np.stack([np.sin(t * (1 + j)) for j in range(N_VARS)], axis=1)
    w = np.stack([series[i : i + CONTEXT + HORIZON] for i in range(BATCH)])
    w = w + 0.01 * rng.standard_normal(w.shape)
    batch = torch.as_tensor(w, dtype=torch.float32, device=device)
    context, target = batch[:, :CONTEXT], batch[:, CONTEXT:]
    model.prepare(context)
    opt, _ = _optimiser(model)
    model.train()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = model.loss(model(context), target, context)
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):
        step()
    base = peak_mb()
    reset_peak()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    out = {
        "model": name,
        "device": device,
        "parameters": f.n_parameters,
        "step_ms": 1000 * float(np.median(times)),
        "peak_mb": (
            torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else peak_mb() - base
        ),
    }
    if device == "cpu":
        out["peak_resident_mb"] = peak_mb()
    return out


def main(device: str) -> dict:
    rows = []
    for name in MODELS:
        proc = subprocess.run(
            [sys.executable, str(HERE), "--child", name, device],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["failed"]
            rows.append({"model": name, "device": device, "error": tail[0]})
        else:
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    return {
        "benchmark": "training step at spec default sizes",
        "context": CONTEXT,
        "horizon": HORIZON,
        "variables": N_VARS,
        "batch": BATCH,
        "rows": rows,
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        args = [a for a in sys.argv[1:] if not a.startswith("--")]
        dev = "cuda" if "--device" in sys.argv and "cuda" in sys.argv else "cpu"
        result = main(dev)
        if args:
            Path(args[0]).write_text(json.dumps(result, indent=1))
