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

The nets are h2o's (``hex.deeplearning``): tanh or rectifier hidden layers, optionally with
h2o's dropout, a softmax output, online ADADELTA in h2o's form with its ``fast_mode``
shortcuts. :class:`NetStack` documents each setting as h2o resolves it.
"""
from __future__ import annotations

import os
import threading
import time
import warnings
from dataclasses import dataclass, field

import torch

__all__ = [
    "NetStack",
    "Dropout",
    "init_stack",
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


ACTIVATIONS = ("tanh", "relu")


@dataclass
class NetStack:
    """Parameters and ADADELTA state of ``R`` dense nets: hidden layers, softmax output.

    ``W[l]`` has shape (R, fan_in, fan_out), ``b[l]`` (R, fan_out). ``eg2``/``edx2`` hold the
    running averages of squared gradients and squared updates for weights, ``beg2``/``bedx2``
    for biases (h2o keeps them per bias, fed by the mean squared gradient of the unit's
    incoming weights; see :func:`h2o_adadelta_step`).

    ``activation`` is ``"tanh"`` (h2o ``Tanh``) or ``"relu"`` (h2o ``Rectifier``: max(0, x),
    derivative 1 where the output is > 0, else 0). ``score_scale`` holds, per hidden layer, the
    factor h2o multiplies that layer's activations by when scoring a net trained with hidden
    dropout (1 − the layer's dropout ratio; ``Neurons.TanhDropout``/``RectifierDropout``); empty
    for nets without it. Input dropout is not compensated when scoring, as in h2o.
    """

    W: list[torch.Tensor]
    b: list[torch.Tensor]
    eg2: list[torch.Tensor] = field(default_factory=list)
    edx2: list[torch.Tensor] = field(default_factory=list)
    beg2: list[torch.Tensor] = field(default_factory=list)
    bedx2: list[torch.Tensor] = field(default_factory=list)
    fan_in0: torch.Tensor | None = None  # (R,) number of kept input columns per replicate
    activation: str = "tanh"
    score_scale: tuple[float, ...] = ()

    @property
    def replicates(self) -> int:
        return self.W[0].shape[0]

    def tensors(self) -> list[torch.Tensor]:
        return [*self.W, *self.b, *self.eg2, *self.edx2, *self.beg2, *self.bedx2]

    def _with(self, f) -> "NetStack":
        return NetStack([f(t) for t in self.W], [f(t) for t in self.b], [f(t) for t in self.eg2],
                        [f(t) for t in self.edx2], [f(t) for t in self.beg2],
                        [f(t) for t in self.bedx2], None if self.fan_in0 is None else f(self.fan_in0),
                        self.activation, self.score_scale)

    def clone(self) -> "NetStack":
        return self._with(lambda t: t.clone())

    def select(self, idx) -> "NetStack":
        """The sub-stack of replicates ``idx`` (a copy)."""
        return self._with(lambda t: t[idx].clone())

    def assign(self, mask: torch.Tensor, other: "NetStack") -> None:
        """Overwrite the replicates where ``mask`` (R,) is true with ``other``'s."""
        for mine, theirs in zip(self.tensors(), other.tensors()):
            m = mask.view(-1, *([1] * (mine.dim() - 1)))
            mine.copy_(torch.where(m, theirs, mine))


def init_stack(
    generators: list[torch.Generator],
    fan_in0: list[int],
    *,
    n_inputs: int,
    hidden: tuple[int, ...],
    n_out: int = 2,
    output_scale: float = 4.0,
    activation: str = "tanh",
    device: torch.device | str = "cpu",
) -> NetStack:
    """h2o's initial net (``DeepLearningModelInfo.initializeMembers``), one generator per
    replicate, zero optimiser state.

    Weights are uniform on ±sqrt(6 / (fan_in + fan_out)) (h2o's ``UniformAdaptive``) where the
    first layer's fan-in is the replicate's number of kept input columns (h2o drops constant
    columns); h2o multiplies the output layer's by 4 for classification (``output_scale``).
    Biases: 0 for tanh layers; for rectifier layers 0.5 in the first hidden layer and 1 in the
    others; 0 in the output layer. Weights are drawn on the CPU from each replicate's own
    generator, so replicate ``r`` is initialised identically whether it is trained alone or in a
    stack.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r}: use one of {ACTIVATIONS}")
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
        bias = 0.0
        if activation == "relu" and layer < len(sizes) - 2:
            bias = 0.5 if layer == 0 else 1.0
        bs.append(torch.full((len(generators), fo), bias, device=device))
    z = lambda ts: [torch.zeros_like(t) for t in ts]  # noqa: E731
    return NetStack(Ws, bs, z(Ws), z(Ws), z(bs), z(bs),
                    torch.tensor(fan_in0, dtype=torch.float32, device=device), activation)


@dataclass
class Dropout:
    """h2o's dropout for a stack (``hex.deeplearning.Dropout``): for every training row, fresh
    masks are drawn for the input layer (each input set to 0 with probability
    ``input_ratio``) and for each hidden layer (each unit kept with probability 1 − its ratio;
    a dropped unit's pre-activation is 0, bias included). Masks come from each replicate's own
    generator (the one that initialised it), drawn per training iteration over the full input
    width ``n_inputs`` and then restricted to the replicate's kept columns ``cols`` (R, k), so a
    replicate gets the same masks alone or in a stack."""

    generators: list[torch.Generator]
    n_inputs: int
    cols: torch.Tensor
    input_ratio: float = 0.0
    hidden_ratios: tuple[float, ...] = ()

    def draw(self, steps: int, hidden: tuple[int, ...],
             which: list[int]) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        """For replicates ``which``: (input keep (R', steps, k) or None, [hidden keep
        (R', steps, h_l)]) as 0/1 floats."""
        inputs, layers = [], [[] for _ in self.hidden_ratios]
        for r in which:
            g = self.generators[r]
            if self.input_ratio > 0:
                u = torch.rand(steps, self.n_inputs, generator=g)
                inputs.append((u >= self.input_ratio)[:, self.cols[r]].float())
            for l, (ratio, h) in enumerate(zip(self.hidden_ratios, hidden)):
                layers[l].append((torch.rand(steps, h, generator=g) > ratio).float())
        return (torch.stack(inputs) if inputs else None), [torch.stack(m) for m in layers]


def _act(z: torch.Tensor, activation: str) -> torch.Tensor:
    return torch.relu(z) if activation == "relu" else torch.tanh(z)


def forward_proba(stack: NetStack, X: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """p(class 1) for inputs X of shape (R, m, d), scored as h2o scores (no dropout; hidden
    activations times ``stack.score_scale``): returns (R, m)."""
    outs = []
    with torch.no_grad():
        for start in range(0, X.shape[1], chunk):
            h = X[:, start:start + chunk]
            for layer, (W, b) in enumerate(zip(stack.W[:-1], stack.b[:-1])):
                h = _act(torch.baddbmm(b.unsqueeze(1), h, W), stack.activation)
                if stack.score_scale:
                    h = h * stack.score_scale[layer]
            logits = torch.baddbmm(stack.b[-1].unsqueeze(1), h, stack.W[-1])
            outs.append(torch.softmax(logits, dim=-1)[..., 1])
    return torch.cat(outs, dim=1)


def h2o_adadelta_step(Ws, bs, eg2, edx2, beg2, bedx2, fan_in0, x, t, active, keep,
                      rho: float, eps: float, relu: bool = False, fast: bool = False):
    """One online (batch-1) step for every replicate: h2o's ADADELTA. Returns the new
    ``(Ws, bs, eg2, edx2, beg2, bedx2)`` lists (a pure function: inductor fuses it; its in-place
    form trips an inductor bug in torch 2.13).

    ``x`` (R, d) is each replicate's current row (input dropout already applied), ``t`` (R, K)
    its one-hot target, ``active`` (R, 1) is 1.0 for replicates still training and 0.0 for
    stopped ones (their gradient is zero, so their weights do not move). ``keep`` is [] or one
    (R, h) 0/1 mask per hidden layer (h2o's hidden dropout: a dropped unit's pre-activation,
    bias included, is 0). ``relu`` picks h2o's ``Rectifier`` over ``Tanh``; ``fast`` applies
    h2o's ``fast_mode`` shortcuts (below). Both are Python bools in eager mode (a setting's
    unused operations are left out) or 0-dim bool tensors (and ``keep`` always given, all ones
    without dropout), so that one compiled graph serves every setting of a net's shape.

    Backpropagation is h2o's (``Neurons.bprop``): the error reaching a unit is multiplied by the
    derivative computed from its output a — 1 − a² for tanh, [a > 0] for the rectifier — so a
    dropped tanh unit (a = 0) still passes error back and has its incoming weights and bias
    updated, as in h2o, while a dropped rectifier unit does not.

    Weights (h2o ``computeAdaDeltaRateForWeight``): E[g²] ← ρE[g²] + (1−ρ)g²;
    rate = sqrt((E[Δ²]+ε)/(E[g²]+ε)); E[Δ²] ← ρE[Δ²] + (1−ρ)rate²g²; w ← w − rate·g.
    Biases (h2o ``update_bias``): the same recursion, but fed with the mean squared gradient of
    the unit's incoming weights instead of the bias's own squared gradient; the step is
    rate·(bias gradient). That mean runs over the kept input columns for the first layer.
    h2o's ``fast_mode`` (its default) skips a unit whose error is exactly 0 (weights, bias and
    their ADADELTA averages untouched) and, within a unit, every weight whose input is exactly
    0, so such averages are not decayed. With ``fast`` so does this step. The NaiveDNN sets it
    where such zeros are part of the net (dropped inputs and units, rectifiers at or below 0);
    in a tanh net without dropout an exact 0 is an accident of rounding, and its step leaves
    the shortcut out (it costs about 60% more in eager mode; on Leek's net no test label
    changed with it, ``tests/test_reddit_settings.py``).
    """
    L = len(Ws)
    hs = [x]
    h = x
    for layer in range(L - 1):
        z = torch.baddbmm(bs[layer].unsqueeze(1), h.unsqueeze(1), Ws[layer]).squeeze(1)
        if keep:
            z = z * keep[layer]
        if isinstance(relu, bool):
            h = torch.relu(z) if relu else torch.tanh(z)
        else:  # a 0-dim bool tensor: one compiled graph serves both activations
            h = torch.where(relu, torch.relu(z), torch.tanh(z))
        hs.append(h)
    logits = torch.baddbmm(bs[-1].unsqueeze(1), h.unsqueeze(1), Ws[-1]).squeeze(1)
    delta = (torch.softmax(logits, dim=-1) - t) * active  # dLoss/dlogits of cross-entropy
    nW, nb, ne, nd, nbe, nbd = ([None] * L for _ in range(6))
    for layer in range(L - 1, -1, -1):
        a = hs[layer]
        W = Ws[layer]
        back = None
        if layer > 0:  # propagate with the weights before this step's update
            err = torch.bmm(delta.unsqueeze(1), W.transpose(1, 2)).squeeze(1)
            if isinstance(relu, bool):
                back = err * (a > 0).to(a.dtype) if relu else err * (1 - a * a)
            else:
                back = err * torch.where(relu, (a > 0).to(a.dtype), 1 - a * a)
        g = a.unsqueeze(2) * delta.unsqueeze(1)  # (R, fan_in, fan_out)
        g2 = g * g
        e = eg2[layer] * rho + (1 - rho) * g2
        if fast is not False:  # h2o fast_mode: a weight whose input or unit error is 0 is skipped
            used = (a != 0).unsqueeze(2) & (delta != 0).unsqueeze(1)
            bused = delta != 0
            if fast is not True:  # a 0-dim bool tensor (compiled): skip nothing when it is false
                used, bused = used | ~fast, bused | ~fast
            e = torch.where(used, e, eg2[layer])
        rate = torch.sqrt((edx2[layer] + eps) / (e + eps))
        nd[layer] = edx2[layer] * rho + (1 - rho) * (rate * rate * g2)
        if fast is not False:
            nd[layer] = torch.where(used, nd[layer], edx2[layer])
        ne[layer] = e
        nW[layer] = W - rate * g
        # bias: mean over incoming weights of g² = delta² · mean(a²)
        denom = fan_in0.unsqueeze(1) if layer == 0 else float(a.shape[1])
        bg2 = delta * delta * (a * a).sum(dim=1, keepdim=True) / denom
        be = beg2[layer] * rho + (1 - rho) * bg2
        if fast is not False:
            be = torch.where(bused, be, beg2[layer])
        brate = torch.sqrt((bedx2[layer] + eps) / (be + eps))
        nbd[layer] = bedx2[layer] * rho + (1 - rho) * (brate * brate * bg2)
        if fast is not False:
            nbd[layer] = torch.where(bused, nbd[layer], bedx2[layer])
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
    stack: NetStack,
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
    dropout: Dropout | None = None,
    fast: bool = False,
    one_graph: bool = False,
    engine: str = "torch",
) -> dict:
    """Train every replicate of ``stack`` online (batch 1), rows in their given order.

    ``Z`` (R, n, d) holds each replicate's preprocessed training rows, ``y`` (R, n) its 0/1
    labels. Training runs in iterations of ``epochs_per_iteration`` epochs up to ``max_epochs``.
    With ``train_error`` (a function of p(class 1) on the training rows (R, n) and y → error per
    replicate), the training error is scored after each iteration as h2o does: a replicate
    whose error reaches 0 stops (its weights are frozen), and at the end each replicate keeps its
    best-scoring iterate (``overwrite_with_best_model``). Without it, every replicate trains the
    full ``max_epochs``. Replicates run in chunks of ``chunk`` (padded with frozen copies so one
    compiled graph serves every cell); an iteration trains only the replicates still running.
    With ``dropout``, each iteration first draws every running replicate's masks for its steps
    (:class:`Dropout`). ``fast`` applies h2o's ``fast_mode`` shortcuts
    (:func:`h2o_adadelta_step`). With ``use_compile`` and ``one_graph``, the step's settings are
    passed as tensors, so that one compiled graph serves every setting of a net's shape (the
    Reddit variants); without ``one_graph``, as constants: the graph of that setting alone,
    leanest for Leek's net (measured: the shared graph made its benchmark cell 5–10% slower).
    ``engine="c"`` trains each iteration with :mod:`evidence.h2okernel` instead (the same
    arithmetic in one C loop per replicate, on the CPU; ``chunk``, ``use_compile`` and
    ``one_graph`` do not apply). Returns ``epochs`` (R,) trained and ``train_error`` (R,) of the
    kept iterate (NaN without scoring).
    """
    R, n, d = Z.shape
    device = Z.device
    if engine not in ("torch", "c"):
        raise ValueError(f"engine={engine!r}: use 'torch' or 'c'")
    if engine == "c" and device.type != "cpu":
        raise ValueError(f"engine='c' trains on the CPU; these tensors are on {device}")
    kernel_settings = dict(relu=stack.activation == "relu", fast=bool(fast), rho=rho, eps=eps)
    chunk = R if chunk is None else max(1, min(chunk, R))
    step = compiled(h2o_adadelta_step, device) if use_compile else h2o_adadelta_step
    T = torch.nn.functional.one_hot(y, 2).to(Z.dtype)
    L = len(stack.W)
    relu = stack.activation == "relu"
    hidden = tuple(w.shape[2] for w in stack.W[:-1])
    ones: list[torch.Tensor] = []
    if use_compile and one_graph:  # settings as tensors, masks always: one graph for all
        relu = torch.tensor(relu, device=device)
        fast = torch.tensor(fast, device=device)
        ones = [torch.ones(chunk, h, device=device) for h in hidden]
    state = [t.clone() for t in stack.tensors()]  # every replicate; the running ones train

    def chunked(t: torch.Tensor, total: int) -> list[torch.Tensor]:
        t = _pad_replicates(t.to(device), total)
        return [t[c * chunk:(c + 1) * chunk].contiguous() for c in range(total // chunk)]

    running = torch.ones(R, dtype=torch.bool)
    epochs = torch.zeros(R, dtype=torch.long)
    best_err = torch.full((R,), float("inf"), dtype=torch.float64)
    best_W = best_b = None
    trained = 0
    packed: dict = {}  # the running replicates' chunks, kept while the running set is the same

    def pack(idx: torch.Tensor) -> None:
        """Only the running replicates train (a stopped one is frozen, and skipping it changes
        nothing of the others); they are packed into chunks, the last padded with frozen
        copies. Inputs are stored step-major: each step's row is a contiguous (chunk, ·) tensor
        with the same strides at every n, so one compiled graph serves every training-set size."""
        sel = idx.to(device)
        total = -(-len(idx) // chunk) * chunk
        real = torch.zeros(total, 1, device=device)  # 0: a padding copy, frozen
        real[:len(idx)] = 1.0
        step_major = lambda ts: [t.transpose(0, 1).contiguous() for t in ts]  # noqa: E731
        packed.update(
            key=tuple(idx.tolist()), idx=idx, sel=sel, total=total,
            chunks=[list(ts) for ts in zip(*(chunked(t[sel], total) for t in state))],
            acts=chunked(real, total), fan=chunked(stack.fan_in0[sel], total),
            targets=step_major(chunked(T[sel], total)),
            inputs=step_major(chunked(Z[sel], total)))

    def unpack() -> None:
        """Write the packed replicates' state back into ``state``."""
        for k, t in enumerate(state):
            t[packed["sel"]] = torch.cat([ch[k] for ch in packed["chunks"]], dim=0)[:len(packed["idx"])]

    while trained < max_epochs:
        todo = min(epochs_per_iteration, max_epochs - trained)
        idx = running.nonzero().flatten()
        if engine == "c":  # the state is trained in place, replicate by replicate
            from evidence import h2okernel
            in_keep, hid_keep = (dropout.draw(todo * n, hidden, idx.tolist()) if dropout
                                 else (None, None))
            h2okernel.train_iteration(state, L, stack.fan_in0, Z, y, idx, todo * n,
                                      in_keep=in_keep, keep=hid_keep, **kernel_settings)
        else:
            if packed.get("key") != tuple(idx.tolist()):
                if packed:
                    unpack()
                pack(idx)
            chunks, total = packed["chunks"], packed["total"]
            inputs, keeps = packed["inputs"], [[] for _ in chunks]
            if dropout is not None:  # this iteration's masks, one per training step
                in_keep, hid_keep = dropout.draw(todo * n, hidden, idx.tolist())
                sel = packed["sel"]
                if in_keep is not None:
                    masked = chunked(Z[sel].repeat(1, todo, 1) * in_keep.to(device), total)
                    inputs = [t.transpose(0, 1).contiguous() for t in masked]
                if hid_keep:
                    per = [chunked(m, total) for m in hid_keep]
                    keeps = [[m[c].transpose(0, 1).contiguous() for m in per] for c in range(len(chunks))]

            def run(c: int, epochs_now: int = todo) -> None:
                s = chunks[c]
                x_c, t_c, k_c = inputs[c], packed["targets"][c], keeps[c]
                fan_c, act_c = packed["fan"][c], packed["acts"][c]
                per_step = x_c.shape[0] > n  # inputs masked afresh at every step
                for e in range(epochs_now):
                    for i in range(n):
                        j = e * n + i
                        out = step(s[:L], s[L:2 * L], s[2 * L:3 * L], s[3 * L:4 * L], s[4 * L:5 * L],
                                   s[5 * L:], fan_c, x_c[j if per_step else i], t_c[i],
                                   act_c, [k[j] for k in k_c] or ones, rho, eps, relu, fast)
                        s = [t for group in out for t in group]
                chunks[c] = s

            _run_chunks(run, len(chunks), device)
        trained += todo
        epochs[idx] += todo
        if train_error is None:
            continue
        if packed:
            unpack()  # scoring reads every replicate's current state
        current = NetStack(state[:L], state[L:2 * L], fan_in0=stack.fan_in0,
                           activation=stack.activation, score_scale=stack.score_scale)
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
        running &= best_err != 0
        if not bool(running.any()):
            break
    if packed and train_error is None:
        unpack()
    stack.W, stack.b = state[:L], state[L:2 * L]
    stack.eg2, stack.edx2 = state[2 * L:3 * L], state[3 * L:4 * L]
    stack.beg2, stack.bedx2 = state[4 * L:5 * L], state[5 * L:]
    if best_W is not None:
        stack.W, stack.b = best_W, best_b
    err_out = best_err if train_error is not None else torch.full((R,), float("nan"), dtype=torch.float64)
    return {"epochs": epochs.numpy(), "train_error": err_out.numpy()}
