"""Batched training: many small nets, one per draw, trained together along a replicate axis.

The suite's cost is many tiny trainings (a 5x160 tanh net, batch size 1, for every size and
draw). Each replicate ``r`` has its own training rows, its own initialisation (its own
``torch.Generator``) and its own stopping state; the replicates only share the arithmetic.
Because every update below is element-wise per replicate (batched matmuls, element-wise
ADADELTA), replicate ``r`` of a stack follows exactly the trajectory it would follow alone: a
test in ``tests/test_engine.py`` proves it against separate training.

Where the time goes (measured on a 2-core CPU, see ``benchmarks/``): a batch-1 step is bound by
per-op overhead and memory traffic, so stacking alone gains little; the step is therefore
written as one pure function of tensors (hand-written forward, backward and optimiser, no
autograd) that ``torch.compile`` fuses into a few loops. Replicates are processed in chunks
small enough for their optimiser state to stay in cache. Step shapes do not depend on ``n``, so
one compiled graph serves every training-set size.
"""
from __future__ import annotations

import os
import threading
import time
import warnings
from dataclasses import dataclass, field

import torch

__all__ = [
    "TanhNetStack",
    "init_tanh_stack",
    "forward_proba",
    "h2o_adadelta_step",
    "compiled",
    "compile_seconds",
    "resolve_device",
    "DeviceError",
]


class DeviceError(RuntimeError):
    """A device was asked for that this machine does not have."""


def resolve_device(name: str | None) -> torch.device:
    """``auto`` → cuda when available else cpu; ``cuda`` without a GPU is an error, not a skip."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device {name} was asked for but torch sees no CUDA device "
                f"(torch {torch.__version__}); use --device cpu or --device auto"
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"unknown device {name!r}; use auto, cpu or cuda")


@dataclass
class TanhNetStack:
    """Parameters and ADADELTA state of ``R`` dense nets: tanh hidden layers, softmax output.

    ``W[l]`` has shape (R, fan_in, fan_out), ``b[l]`` (R, fan_out). ``eg2``/``edx2`` hold the
    running averages of squared gradients and squared updates for weights, ``beg2``/``bedx2``
    for biases (h2o keeps them per bias, fed by the mean squared gradient of the unit's
    incoming weights; see :func:`h2o_adadelta_step`).
    """

    W: list[torch.Tensor]
    b: list[torch.Tensor]
    eg2: list[torch.Tensor] = field(default_factory=list)
    edx2: list[torch.Tensor] = field(default_factory=list)
    beg2: list[torch.Tensor] = field(default_factory=list)
    bedx2: list[torch.Tensor] = field(default_factory=list)
    fan_in0: torch.Tensor | None = None  # (R,) number of kept input columns per replicate

    @property
    def replicates(self) -> int:
        return self.W[0].shape[0]

    def tensors(self) -> list[torch.Tensor]:
        return [*self.W, *self.b, *self.eg2, *self.edx2, *self.beg2, *self.bedx2]

    def clone(self) -> "TanhNetStack":
        c = lambda ts: [t.clone() for t in ts]  # noqa: E731
        return TanhNetStack(c(self.W), c(self.b), c(self.eg2), c(self.edx2), c(self.beg2),
                            c(self.bedx2), None if self.fan_in0 is None else self.fan_in0.clone())

    def select(self, idx) -> "TanhNetStack":
        """The sub-stack of replicates ``idx`` (a copy)."""
        s = lambda ts: [t[idx].clone() for t in ts]  # noqa: E731
        return TanhNetStack(s(self.W), s(self.b), s(self.eg2), s(self.edx2), s(self.beg2),
                            s(self.bedx2), None if self.fan_in0 is None else self.fan_in0[idx].clone())

    def assign(self, mask: torch.Tensor, other: "TanhNetStack") -> None:
        """Overwrite the replicates where ``mask`` (R,) is true with ``other``'s."""
        for mine, theirs in zip(self.tensors(), other.tensors()):
            m = mask.view(-1, *([1] * (mine.dim() - 1)))
            mine.copy_(torch.where(m, theirs, mine))


def init_tanh_stack(
    generators: list[torch.Generator],
    fan_in0: list[int],
    *,
    n_inputs: int,
    hidden: tuple[int, ...],
    n_out: int = 2,
    output_scale: float = 4.0,
    device: torch.device | str = "cpu",
) -> TanhNetStack:
    """Glorot-uniform weights, zero biases, zero optimiser state, one generator per replicate.

    The limit of layer ``l`` is sqrt(6 / (fan_in + fan_out)) where the first layer's fan-in is
    the replicate's number of kept input columns (h2o drops constant columns). h2o multiplies
    the output layer's initial weights by 4 for classification (``output_scale``). Weights are
    drawn on the CPU from each replicate's own generator, so replicate ``r`` is initialised
    identically whether it is trained alone or in a stack.
    """
    sizes = [n_inputs, *hidden, n_out]
    Ws, bs = [], []
    for layer, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
        mats = []
        for g, kept in zip(generators, fan_in0):
            fan_in = kept if layer == 0 else fi
            limit = (6.0 / (fan_in + fo)) ** 0.5
            if layer == len(sizes) - 2:
                limit *= output_scale
            mats.append((torch.rand(fi, fo, generator=g, dtype=torch.float32) * 2 - 1) * limit)
        Ws.append(torch.stack(mats).to(device))
        bs.append(torch.zeros(len(generators), fo, device=device))
    z = lambda ts: [torch.zeros_like(t) for t in ts]  # noqa: E731
    return TanhNetStack(Ws, bs, z(Ws), z(Ws), z(bs), z(bs),
                        torch.tensor(fan_in0, dtype=torch.float32, device=device))


def forward_proba(stack: TanhNetStack, X: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """p(class 1) for inputs X of shape (R, m, d): returns (R, m)."""
    outs = []
    with torch.no_grad():
        for start in range(0, X.shape[1], chunk):
            h = X[:, start:start + chunk]
            for W, b in zip(stack.W[:-1], stack.b[:-1]):
                h = torch.tanh(torch.baddbmm(b.unsqueeze(1), h, W))
            logits = torch.baddbmm(stack.b[-1].unsqueeze(1), h, stack.W[-1])
            outs.append(torch.softmax(logits, dim=-1)[..., 1])
    return torch.cat(outs, dim=1)


def h2o_adadelta_step(Ws, bs, eg2, edx2, beg2, bedx2, fan_in0, x, t, active, rho: float, eps: float):
    """One online (batch-1) step for every replicate: h2o's ADADELTA. Returns the new
    ``(Ws, bs, eg2, edx2, beg2, bedx2)`` lists (a pure function: inductor fuses it; its in-place
    form trips an inductor bug in torch 2.13).

    ``x`` (R, d) is each replicate's current row, ``t`` (R, K) its one-hot target, ``active``
    (R, 1) is 1.0 for replicates still training and 0.0 for stopped ones (their gradient is
    zero, so their weights do not move).

    Weights (h2o ``computeAdaDeltaRateForWeight``): E[g²] ← ρE[g²] + (1−ρ)g²;
    rate = sqrt((E[Δ²]+ε)/(E[g²]+ε)); E[Δ²] ← ρE[Δ²] + (1−ρ)rate²g²; w ← w − rate·g.
    Biases (h2o ``update_bias``): the same recursion, but fed with the mean squared gradient of
    the unit's incoming weights instead of the bias's own squared gradient; the step is
    rate·(bias gradient). That mean runs over the kept input columns for the first layer.
    """
    L = len(Ws)
    hs = [x]
    h = x
    for layer in range(L - 1):
        h = torch.tanh(torch.baddbmm(bs[layer].unsqueeze(1), h.unsqueeze(1), Ws[layer]).squeeze(1))
        hs.append(h)
    logits = torch.baddbmm(bs[-1].unsqueeze(1), h.unsqueeze(1), Ws[-1]).squeeze(1)
    delta = (torch.softmax(logits, dim=-1) - t) * active  # dLoss/dlogits of cross-entropy
    nW, nb, ne, nd, nbe, nbd = ([None] * L for _ in range(6))
    for layer in range(L - 1, -1, -1):
        a = hs[layer]
        W = Ws[layer]
        back = None
        if layer > 0:  # propagate with the weights before this step's update
            back = torch.bmm(delta.unsqueeze(1), W.transpose(1, 2)).squeeze(1) * (1 - a * a)
        g = a.unsqueeze(2) * delta.unsqueeze(1)  # (R, fan_in, fan_out)
        g2 = g * g
        e = eg2[layer] * rho + (1 - rho) * g2
        rate = torch.sqrt((edx2[layer] + eps) / (e + eps))
        nd[layer] = edx2[layer] * rho + (1 - rho) * (rate * rate * g2)
        ne[layer] = e
        nW[layer] = W - rate * g
        # bias: mean over incoming weights of g² = delta² · mean(a²)
        denom = fan_in0.unsqueeze(1) if layer == 0 else float(a.shape[1])
        bg2 = delta * delta * (a * a).sum(dim=1, keepdim=True) / denom
        be = beg2[layer] * rho + (1 - rho) * bg2
        brate = torch.sqrt((bedx2[layer] + eps) / (be + eps))
        nbd[layer] = bedx2[layer] * rho + (1 - rho) * (brate * brate * bg2)
        nbe[layer] = be
        nb[layer] = bs[layer] - brate * delta
        if back is not None:
            delta = back
    return nW, nb, ne, nd, nbe, nbd


# ---------------------------------------------------------------------------------------------
# Compilation: one cache of compiled step functions per (function, device); eager fallback.
_COMPILED: dict = {}
_COMPILE_LOCK = threading.Lock()
_COMPILE_SECONDS: dict[str, float] = {}


def compile_seconds() -> dict[str, float]:
    """Seconds spent compiling, per function (first call of each compiled graph)."""
    return dict(_COMPILE_SECONDS)


def _compile_enabled() -> bool:
    return os.environ.get("CLAIMS_COMPILE", "1") not in ("0", "false", "no")


def compiled(fn, device: torch.device):
    """``torch.compile(fn)`` once per device, or ``fn`` itself where compilation is unavailable
    (no compiler, an unsupported platform, or ``CLAIMS_COMPILE=0``)."""
    key = (fn.__name__, device.type)
    with _COMPILE_LOCK:
        if key in _COMPILED:
            return _COMPILED[key]
        if not _compile_enabled():
            _COMPILED[key] = fn
            return fn
        try:
            cfn = torch.compile(fn, dynamic=False, fullgraph=True)
        except Exception as exc:  # pragma: no cover - depends on the platform
            warnings.warn(f"torch.compile unavailable ({exc}); training in eager mode")
            _COMPILED[key] = fn
            return fn
        first = {"done": False}

        def run(*args, **kwargs):
            if first["done"]:
                return cfn(*args, **kwargs)
            t0 = time.perf_counter()
            try:
                out = cfn(*args, **kwargs)
            except Exception as exc:  # compiler missing or broken: fall back, same maths
                warnings.warn(f"torch.compile failed ({type(exc).__name__}: {exc}); "
                              "training in eager mode")
                _COMPILED[key] = fn
                return fn(*args, **kwargs)
            _COMPILE_SECONDS[fn.__name__] = _COMPILE_SECONDS.get(fn.__name__, 0.0) + time.perf_counter() - t0
            first["done"] = True
            return out

        _COMPILED[key] = run
        return run


# ---------------------------------------------------------------------------------------------
# Training loop for stacks of h2o-style nets (online updates, iterations of whole epochs).

def _pad_replicates(t: torch.Tensor, total: int) -> torch.Tensor:
    if t.shape[0] == total:
        return t
    pad = t[:1].expand(total - t.shape[0], *t.shape[1:])
    return torch.cat([t, pad], dim=0)


def _run_chunks(run, count: int, device: torch.device) -> None:
    """Run ``run(c)`` for every chunk, in turn. On the CPU each step is far too small to split
    across cores, so training runs with one intra-op thread (extra threads only spin-wait on
    such tiny ops); measured on the 2-core CI machine, two worker threads each taking chunks
    were 2–9× slower per step than one thread taking them in turn (the cores share their cache
    and memory bandwidth)."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        for c in range(count):
            run(c)
    finally:
        torch.set_num_threads(threads)


def train_online_stack(
    stack: TanhNetStack,
    Z: torch.Tensor,
    y: torch.Tensor,
    *,
    rho: float,
    eps: float,
    epochs_per_iteration: int,
    max_epochs: int,
    train_error=None,
    chunk: int | None = None,
    use_compile: bool = False,
) -> dict:
    """Train every replicate of ``stack`` online (batch 1), rows in their given order.

    ``Z`` (R, n, d) holds each replicate's preprocessed training rows, ``y`` (R, n) its 0/1
    labels. Training runs in iterations of ``epochs_per_iteration`` epochs up to ``max_epochs``.
    With ``train_error`` (a function of p(class 1) on the training rows (R, n) and y → error per
    replicate), the training error is scored after each iteration as h2o does: a replicate
    whose error reaches 0 stops (its weights are frozen), and at the end each replicate keeps its
    best-scoring iterate (``overwrite_with_best_model``). Without it, every replicate trains the
    full ``max_epochs``. Replicates run in chunks of ``chunk`` (padded with frozen copies so one
    compiled graph serves every cell). Returns ``epochs`` (R,) trained and ``train_error`` (R,)
    of the kept iterate (NaN without scoring).
    """
    R, n, d = Z.shape
    device = Z.device
    chunk = R if chunk is None else max(1, min(chunk, R))
    total = -(-R // chunk) * chunk
    step = compiled(h2o_adadelta_step, device) if use_compile else h2o_adadelta_step
    T = torch.nn.functional.one_hot(y, 2).to(Z.dtype)
    Zp, Tp = _pad_replicates(Z, total), _pad_replicates(T, total)
    active = torch.zeros(total, 1, device=device)
    active[:R] = 1.0
    state = [_pad_replicates(t, total) for t in stack.tensors()]
    fan = _pad_replicates(stack.fan_in0, total)
    L = len(stack.W)

    def split(ts, c):
        sl = slice(c * chunk, (c + 1) * chunk)
        return [t[sl].contiguous() for t in ts]

    chunks = [split(state, c) for c in range(total // chunk)]
    Zc = [Zp[c * chunk:(c + 1) * chunk].contiguous() for c in range(total // chunk)]
    Tc = [Tp[c * chunk:(c + 1) * chunk].contiguous() for c in range(total // chunk)]
    fanc = [fan[c * chunk:(c + 1) * chunk].contiguous() for c in range(total // chunk)]

    def gather() -> TanhNetStack:
        cols = list(zip(*chunks))
        ts = [torch.cat(col, dim=0)[:R] for col in cols]
        return TanhNetStack(ts[:L], ts[L:2 * L], ts[2 * L:3 * L], ts[3 * L:4 * L],
                            ts[4 * L:5 * L], ts[5 * L:6 * L], stack.fan_in0)

    epochs = torch.zeros(R, dtype=torch.long)
    best_err = torch.full((R,), float("inf"), dtype=torch.float64)
    best_W = best_b = None
    trained = 0
    while trained < max_epochs:
        todo = min(epochs_per_iteration, max_epochs - trained)
        def run(c: int, epochs_now: int = todo) -> None:
            s = chunks[c]
            act = active[c * chunk:(c + 1) * chunk]
            for _ in range(epochs_now):
                for i in range(n):
                    out = step(s[:L], s[L:2 * L], s[2 * L:3 * L], s[3 * L:4 * L], s[4 * L:5 * L],
                               s[5 * L:], fanc[c], Zc[c][:, i], Tc[c][:, i], act, rho, eps)
                    s = [t for group in out for t in group]
            chunks[c] = s

        _run_chunks(run, len(chunks), device)
        trained += todo
        running = active[:R, 0].bool().cpu()
        epochs[running] += todo
        if train_error is None:
            continue
        current = gather()
        p_train = forward_proba(current, Z)
        if not torch.isfinite(p_train).all():
            bad = (~torch.isfinite(p_train)).any(dim=1).nonzero().flatten().tolist()
            raise FloatingPointError(
                f"training diverged (non-finite outputs) in replicate(s) {bad} after "
                f"{trained} epochs; nothing of this cell is cached, other cells are kept")
        err = torch.as_tensor(train_error(p_train.cpu().numpy(), y.cpu().numpy()), dtype=torch.float64)
        better = running & (err < best_err)
        if best_W is None:
            best_W = [w.clone() for w in current.W]
            best_b = [b.clone() for b in current.b]
        m = better.to(device)
        for bw, w in zip(best_W, current.W):
            bw.copy_(torch.where(m.view(-1, 1, 1), w, bw))
        for bb, b in zip(best_b, current.b):
            bb.copy_(torch.where(m.view(-1, 1), b, bb))
        best_err = torch.where(better, err, best_err)
        done = (best_err == 0) | ~running
        active[:R, 0] = (~done).to(active.dtype).to(device)
        if bool(done.all()):
            break
    final = gather()
    if best_W is not None:
        final.W, final.b = best_W, best_b
    stack.W, stack.b = final.W, final.b
    stack.eg2, stack.edx2, stack.beg2, stack.bedx2 = final.eg2, final.edx2, final.beg2, final.bedx2
    err_out = best_err if train_error is not None else torch.full((R,), float("nan"), dtype=torch.float64)
    return {"epochs": epochs.numpy(), "train_error": err_out.numpy()}
