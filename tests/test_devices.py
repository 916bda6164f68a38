"""One small claim on CUDA and on the CPU agrees (DESIGN.md, "Devices").

The same verdict where both p-values are below 0.01, otherwise overlapping intervals; and each
per-size mean of one device within the other's 95% interval over draws. Runs only where torch
sees a CUDA device (``-m gpu``); CPU and GPU random streams differ (dropout), so agreement is
statistical, not bitwise.
"""
import numpy as np
import pytest
import torch
from scipy import stats as sps

from evidence import stats
from evidence.curves import Engine, ResultCache
from evidence.data import digit_pair, load_source
from evidence.scales import SMALL
from models.beam import BeamMLP
from models.leekasso import Leekasso


@pytest.mark.gpu
def test_mlp_claim_agrees_on_cpu_and_cuda(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    source = load_source()
    verdicts, runs = {}, {}
    for device in ("cpu", "cuda"):
        engine = Engine(source, 2017, 2017, device, ResultCache(tmp_path / device))
        runs[device] = engine.curve(task=digit_pair(0, 1), contenders=[BeamMLP(), Leekasso()],
                                    sizes=SMALL.sizes, draws=SMALL.draws)
        verdicts[device] = stats.paired(runs[device], better="beam_mlp", baseline="leekasso",
                                        seed=2017).beats()
    cpu, gpu = verdicts["cpu"], verdicts["cuda"]
    if cpu.p_value < 0.01 and gpu.p_value < 0.01:
        assert cpu.outcome == gpu.outcome, (cpu.explain(), gpu.explain())
    else:
        assert cpu.ci_low <= gpu.ci_high and gpu.ci_low <= cpu.ci_high, (cpu.explain(), gpu.explain())
    for n in SMALL.sizes:
        a = runs["cpu"].query("contender == 'beam_mlp' and n == @n")["test_acc"].to_numpy()
        b = runs["cuda"].query("contender == 'beam_mlp' and n == @n")["test_acc"].to_numpy()
        half = sps.t.ppf(0.975, len(a) - 1) * np.hypot(a.std(ddof=1), b.std(ddof=1)) / np.sqrt(len(a))
        assert abs(a.mean() - b.mean()) <= max(half, 1e-9), f"n={n}: cpu {a.mean():.4f} vs cuda {b.mean():.4f}"
