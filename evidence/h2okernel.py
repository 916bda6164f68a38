"""h2o's online ADADELTA for a stack of nets, as one C loop per replicate (built with the
machine's C compiler at first use, called through :mod:`ctypes`).

:func:`evidence.engine.h2o_adadelta_step` states the arithmetic: h2o's forward pass, its
backpropagation, its ADADELTA for weights and biases, its dropout and its ``fast_mode``. This
module does the same arithmetic, step by step, with these differences of form, none of which
changes what is computed beyond rounding:

* a whole training iteration (every row of every epoch) of one replicate runs in one call, so
  there is no per-step call overhead and the replicate's state stays in one core's cache;
  replicates train side by side on ``threads`` threads (each replicate on one thread, so the
  thread count changes no number);
* the error sent back through a weight matrix is summed in the same pass that updates it
  (with the weights before the update, as h2o does);
* with ``fast`` (h2o's ``fast_mode``), a row of weights whose input is exactly 0 is not read
  at all: its weights and ADADELTA averages would be left as they are anyway. For rectifier
  and dropout nets most rows are such rows, so most of the memory traffic goes.

Rounding: sums run in a fixed order that does not depend on the vector width (a dot product of
a weight row with the unit errors keeps 16 partial sums, added in order at the end), the
compiler may not contract a·b + c into one fused instruction, and no fast-math reassociation
is allowed. So the numbers depend on the machine only through the C library's ``tanhf`` and
``expf``; on one machine they are the same run after run and whatever the thread count, and
replicate ``r`` follows the same trajectory alone or in a stack. They are not the torch step's
to the last bit (its matrix products sum in another order), so a fit's cache key says which
engine trained it (``NaiveDNN(engine=...)``).

Measured on the 2-core CPU against the compiled torch step, side by side, medians of 3
(``NaiveDNN(**REDDIT_CHANGES[...], early_stop=False, max_epochs=2)``, 4 v 9, n = 80): with 10
draws on two threads (``benchmarks/``, ``-k h2o_kernel``) the modern recipe (rectifier,
dropout, augmentation) 5.8 times as fast and augmentation alone (a dense tanh net) 3.6 times;
with 4 draws on one thread, 2.7 and 1.7 times.

The source lives in this module (:data:`SOURCE`), so that the result cache's code hash
(``evidence.codehash``) sees every edit of it. The shared object is built into a folder of the
system's temporary directory named by a hash of the source, the compiler and its flags; a
machine without a C compiler gets a :class:`KernelUnavailable` error naming the fix.
"""
from __future__ import annotations

import concurrent.futures
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import torch

__all__ = ["SOURCE", "KernelUnavailable", "available", "library", "train_iteration"]

#: widest layer the kernel's work buffers hold
MAX_WIDTH = 4096
#: most weight layers a net may have
MAX_LAYERS = 32

SOURCE = r"""
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXW %(max_width)d
#define MAXL %(max_layers)d
#define BLK 16

/* One replicate, one layer: err[i] = sum_j delta[j] W[i][j] (old weights) for the rows that
   need it, then h2o's ADADELTA on every weight and bias of the layer. */
static void layer_update(int fi, int fo, float *W, float *E, float *D, float *b, float *bE,
                         float *bD, const float *a, const float *delta, float bias_denom,
                         float rho, float omr, float eps, int relu, int fast, int want_back,
                         float *back)
{
    float *d2 = back + fi, *usedj = d2 + fo;  /* scratch after back */
    for (int j = 0; j < fo; j++) {
        d2[j] = delta[j] * delta[j];
        usedj[j] = (!fast || delta[j] != 0.0f) ? 1.0f : 0.0f;
    }
    float sa2 = 0.0f;
    for (int i = 0; i < fi; i++) sa2 += a[i] * a[i];
    for (int i = 0; i < fi; i++) {
        const float ai = a[i];
        float *Wi = W + (int64_t)i * fo, *Ei = E + (int64_t)i * fo, *Di = D + (int64_t)i * fo;
        int need_err = want_back && (relu ? ai > 0.0f : 1);
        float acc[BLK];
        for (int k = 0; k < BLK; k++) acc[k] = 0.0f;
        if (fast && ai == 0.0f) {  /* h2o fast_mode: every weight of this row is skipped */
            if (need_err) {
                int jb = 0;
                for (; jb + BLK <= fo; jb += BLK)
                    for (int k = 0; k < BLK; k++) acc[k] += delta[jb + k] * Wi[jb + k];
                for (int k = 0; jb + k < fo; k++) acc[k] += delta[jb + k] * Wi[jb + k];
            }
        } else {
            int jb = 0;
            for (; jb < fo; jb += BLK) {
                int m = fo - jb < BLK ? fo - jb : BLK;
                for (int k = 0; k < m; k++) {
                    const int j = jb + k;
                    const float w = Wi[j];
                    acc[k] += delta[j] * w;
                    const float g = ai * delta[j];
                    const float g2 = g * g;
                    const float used = usedj[j];  /* ai != 0 here when fast */
                    float e = Ei[j] * rho + omr * g2;
                    e = used != 0.0f ? e : Ei[j];
                    const float rate = sqrtf((Di[j] + eps) / (e + eps));
                    float nd = Di[j] * rho + omr * (rate * rate * g2);
                    nd = used != 0.0f ? nd : Di[j];
                    Ei[j] = e;
                    Di[j] = nd;
                    Wi[j] = w - rate * g;
                }
            }
        }
        if (want_back) {
            float err = 0.0f;
            if (need_err)
                for (int k = 0; k < BLK; k++) err += acc[k];
            back[i] = need_err ? (relu ? err * 1.0f : err * (1.0f - ai * ai)) : 0.0f;
        }
    }
    for (int j = 0; j < fo; j++) {
        const float bg2 = d2[j] * sa2 / bias_denom;
        float be = bE[j] * rho + omr * bg2;
        be = usedj[j] != 0.0f ? be : bE[j];
        const float brate = sqrtf((bD[j] + eps) / (be + eps));
        float nbd = bD[j] * rho + omr * (brate * brate * bg2);
        nbd = usedj[j] != 0.0f ? nbd : bD[j];
        bE[j] = be;
        bD[j] = nbd;
        b[j] = b[j] - brate * delta[j];
    }
}

/* Train replicates idx[0..m) for `steps` online steps (row s %% n at step s), in place.
   sizes[0..L]: layer widths (inputs first). Per layer l the state pointers address the whole
   stack: W[l], E[l], D[l] (R, fi, fo); b[l], bE[l], bD[l] (R, fo). Z (R, n, k) inputs,
   y (R, n) labels 0/1, fan0 (R). in_keep (m, steps, k) or NULL; keep[l] (m, steps, h_l) or
   NULL for each hidden layer (no keep array at all when keep == NULL).
   Returns 0, -1 for a width or depth beyond the limits, -2 when memory runs out. */
int h2o_train(int L, const int64_t *sizes, float **W, float **E, float **D, float **b,
              float **bE, float **bD, const float *fan0, const float *Z, const int64_t *y,
              int n, int m, const int64_t *idx, int steps, const float *in_keep,
              float **keep, double rho_d, double eps_d, int relu, int fast)
{
    if (L < 1 || L > MAXL) return -1;
    for (int l = 0; l <= L; l++) if (sizes[l] < 1 || sizes[l] > MAXW) return -1;
    const float rho = (float)rho_d, omr = (float)(1.0 - rho_d), eps = (float)eps_d;
    int64_t total = 0;
    for (int l = 0; l <= L; l++) total += sizes[l];
    /* activations of every layer, then the unit errors, then back + scratch */
    float *work = (float *)malloc(sizeof(float) * (total + 4 * MAXW));
    if (!work) return -2;
    float *hs[MAXL + 1];
    hs[0] = work;
    for (int l = 0; l < L; l++) hs[l + 1] = hs[l] + sizes[l];
    float *delta = hs[L] + sizes[L], *back = delta + MAXW;
    const int k = (int)sizes[0];
    for (int q = 0; q < m; q++) {
        const int64_t r = idx[q];
        float *Wr[MAXL], *Er[MAXL], *Dr[MAXL], *br[MAXL], *bEr[MAXL], *bDr[MAXL];
        for (int l = 0; l < L; l++) {
            const int64_t fi = sizes[l], fo = sizes[l + 1];
            Wr[l] = W[l] + r * fi * fo; Er[l] = E[l] + r * fi * fo; Dr[l] = D[l] + r * fi * fo;
            br[l] = b[l] + r * fo; bEr[l] = bE[l] + r * fo; bDr[l] = bD[l] + r * fo;
        }
        for (int s = 0; s < steps; s++) {
            const int i = s %% n;
            const float *x = Z + (r * n + i) * (int64_t)k;
            if (in_keep) {
                const float *ik = in_keep + ((int64_t)q * steps + s) * k;
                for (int c = 0; c < k; c++) hs[0][c] = x[c] * ik[c];
            } else {
                memcpy(hs[0], x, sizeof(float) * k);
            }
            /* forward */
            for (int l = 0; l < L; l++) {
                const int fi = (int)sizes[l], fo = (int)sizes[l + 1];
                float *z = l < L - 1 ? hs[l + 1] : delta;
                const float *a = hs[l], *Wl = Wr[l];
                for (int j = 0; j < fo; j++) z[j] = 0.0f;
                for (int c = 0; c < fi; c++) {
                    const float ac = a[c];
                    if (ac == 0.0f) continue;  /* adds exactly nothing */
                    const float *Wc = Wl + (int64_t)c * fo;
                    for (int j = 0; j < fo; j++) z[j] += ac * Wc[j];
                }
                for (int j = 0; j < fo; j++) z[j] = br[l][j] + z[j];
                if (l < L - 1) {
                    if (keep) {
                        const float *kp = keep[l] + ((int64_t)q * steps + s) * fo;
                        for (int j = 0; j < fo; j++) z[j] = z[j] * kp[j];
                    }
                    if (relu) for (int j = 0; j < fo; j++) z[j] = z[j] > 0.0f ? z[j] : 0.0f;
                    else for (int j = 0; j < fo; j++) z[j] = tanhf(z[j]);
                }
            }
            /* softmax output and cross-entropy error; delta holds the logits */
            const int K = (int)sizes[L];
            float mx = delta[0];
            for (int j = 1; j < K; j++) mx = delta[j] > mx ? delta[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j < K; j++) { delta[j] = expf(delta[j] - mx); sum += delta[j]; }
            const int64_t t = y[r * n + i];
            for (int j = 0; j < K; j++) delta[j] = delta[j] / sum - (j == t ? 1.0f : 0.0f);
            /* backward, top layer first */
            for (int l = L - 1; l >= 0; l--) {
                const int fi = (int)sizes[l], fo = (int)sizes[l + 1];
                const float denom = l == 0 ? fan0[r] : (float)fi;
                layer_update(fi, fo, Wr[l], Er[l], Dr[l], br[l], bEr[l], bDr[l], hs[l], delta,
                             denom, rho, omr, eps, relu, fast, l > 0, back);
                if (l > 0) memcpy(delta, back, sizeof(float) * fi);
            }
        }
    }
    free(work);
    return 0;
}
"""

#: compiler flags: optimise and vectorise, but never contract a·b + c into one fused
#: instruction or reassociate (the sums' order is part of the arithmetic); -fno-math-errno only
#: lets sqrtf vectorise (it never changes a value). The instruction set is the machine's own
#: where the compiler knows the flag; the values do not depend on it (no fused multiply-adds,
#: sums in a fixed order), only the speed does.
CFLAGS = ("-O3", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-shared")
NATIVE = ("-march=native",)


class KernelUnavailable(RuntimeError):
    """The C kernel cannot be built on this machine (no C compiler, or it failed)."""


_LOCK = threading.Lock()
_LIB: list = []


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _source() -> str:
    return SOURCE % {"max_width": MAX_WIDTH, "max_layers": MAX_LAYERS}


def library() -> ctypes.CDLL:
    """The built kernel (built once per source, compiler and flags; then loaded from the
    temporary directory)."""
    with _LOCK:
        if _LIB:
            return _LIB[0]
        cc = _compiler()
        if cc is None:
            raise KernelUnavailable(
                "the h2o kernel (evidence/h2okernel.py) needs a C compiler and none was found "
                "(tried $CC, cc, gcc, clang); install gcc, or set CC to a compiler")
        src = _source()
        try:
            version = subprocess.run([cc, "--version"], capture_output=True, text=True,
                                     timeout=60).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise KernelUnavailable(f"the C compiler {cc} does not run: {exc}") from exc
        key = hashlib.sha256("\0".join([src, cc, version, *CFLAGS, *NATIVE, sys.platform]).encode())
        folder = Path(tempfile.gettempdir()) / f"claims-h2okernel-{os.getuid() if hasattr(os, 'getuid') else 0}"
        folder.mkdir(parents=True, exist_ok=True)
        so = folder / f"h2o_{key.hexdigest()[:20]}.so"
        if not so.is_file():
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                c_file = Path(tmp) / "h2o.c"
                c_file.write_text(src)
                out = Path(tmp) / "h2o.so"
                for flags in ((*CFLAGS, *NATIVE), CFLAGS):  # a compiler may not know -march
                    proc = subprocess.run([cc, *flags, str(c_file), "-o", str(out), "-lm"],
                                          capture_output=True, text=True)
                    if proc.returncode == 0:
                        break
                if proc.returncode != 0:
                    raise KernelUnavailable(f"building the h2o kernel with {cc} failed:\n"
                                            f"{proc.stderr.strip()[-2000:]}")
                os.replace(out, so)  # atomic: a concurrent process sees all or nothing
        lib = ctypes.CDLL(str(so))
        fn = lib.h2o_train
        P = ctypes.c_void_p
        fn.argtypes = [ctypes.c_int, P, P, P, P, P, P, P, P, P, P, ctypes.c_int, ctypes.c_int,
                       P, ctypes.c_int, P, P, ctypes.c_double, ctypes.c_double, ctypes.c_int,
                       ctypes.c_int]
        fn.restype = ctypes.c_int
        _LIB.append(lib)
        return lib


def available() -> bool:
    """Whether the kernel can be built here."""
    try:
        library()
    except KernelUnavailable:
        return False
    return True


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _ptrs(ts: list[torch.Tensor] | None):
    if not ts:
        return None
    return (ctypes.c_void_p * len(ts))(*[t.data_ptr() for t in ts])


def _check(t: torch.Tensor, name: str, dtype=torch.float32) -> None:
    if t.dtype != dtype or not t.is_contiguous() or t.device.type != "cpu":
        raise ValueError(f"{name}: the h2o kernel needs contiguous {dtype} CPU tensors")


def train_iteration(state: list[torch.Tensor], L: int, fan_in0: torch.Tensor, Z: torch.Tensor,
                    y: torch.Tensor, idx: torch.Tensor, steps: int, *, in_keep=None,
                    keep=None, rho: float, eps: float, relu: bool, fast: bool,
                    threads: int | None = None) -> None:
    """Train replicates ``idx`` of a stack for ``steps`` online steps in place (row ``s % n``
    at step ``s``), as :func:`evidence.engine.h2o_adadelta_step` would step by step.

    ``state`` is the stack's ``[*W, *b, *eg2, *edx2, *beg2, *bedx2]`` (each over every
    replicate), ``Z`` (R, n, k) the inputs, ``y`` (R, n) the labels, ``in_keep`` (len(idx),
    steps, k) the input-dropout masks or None, ``keep`` one (len(idx), steps, h) mask per
    hidden layer or None."""
    lib = library()
    if len(state) != 6 * L:
        raise ValueError(f"state holds {len(state)} tensors; a stack of {L} layers has {6 * L}")
    Ws, bs, Es, Ds, bEs, bDs = (state[g * L:(g + 1) * L] for g in range(6))
    _check(Z, "Z")
    R, n, k = Z.shape
    sizes = torch.tensor([Ws[0].shape[1], *[w.shape[2] for w in Ws]], dtype=torch.int64)
    widths = sizes.tolist()
    for name, group in zip(("W", "b", "eg2", "edx2", "beg2", "bedx2"), (Ws, bs, Es, Ds, bEs, bDs)):
        for l, t in enumerate(group):
            _check(t, name)
            want = ((R, widths[l], widths[l + 1]) if name in ("W", "eg2", "edx2")
                    else (R, widths[l + 1]))
            if tuple(t.shape) != want:
                raise ValueError(f"{name}[{l}] has shape {tuple(t.shape)}, not {want}")
    if k != widths[0]:
        raise ValueError(f"Z has {k} inputs, the first layer {widths[0]}")
    fan = fan_in0.contiguous().float()
    y = y.contiguous().to(torch.int64)
    idx = idx.contiguous().to(torch.int64)
    if fan.shape != (R,) or y.shape != (R, n):
        raise ValueError(f"fan_in0 {tuple(fan.shape)} and y {tuple(y.shape)}: want ({R},) and "
                         f"({R}, {n})")
    if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= R):
        raise ValueError(f"replicate indices must lie in 0..{R - 1}")
    if in_keep is not None:
        in_keep = in_keep.contiguous().float()
        if tuple(in_keep.shape) != (len(idx), steps, k):
            raise ValueError(f"in_keep has shape {tuple(in_keep.shape)}, not "
                             f"{(len(idx), steps, k)}")
    if keep:
        keep = [m.contiguous().float() for m in keep]
        for l, m in enumerate(keep):
            if l >= L - 1 or tuple(m.shape) != (len(idx), steps, widths[l + 1]):
                raise ValueError(f"keep[{l}] has shape {tuple(m.shape)}; want one "
                                 f"(len(idx), steps, width) mask per hidden layer")
        if len(keep) != L - 1:
            raise ValueError(f"{len(keep)} hidden masks for {L - 1} hidden layers")
    args = [(_ptrs(g)) for g in (Ws, Es, Ds, bs, bEs, bDs)]
    rcs: list[int] = []

    def train(q: int) -> None:
        """Replicate idx[q] alone (its masks are row q of the mask arrays)."""
        ik = None if in_keep is None else in_keep[q]
        kp = None if not keep else [m[q] for m in keep]
        rcs.append(lib.h2o_train(L, _ptr(sizes), *args, _ptr(fan), _ptr(Z), _ptr(y), n, 1,
                                 _ptr(idx[q:q + 1]), steps, _ptr(ik), _ptrs(kp), float(rho),
                                 float(eps), int(bool(relu)), int(bool(fast))))

    threads = max(1, min(threads or torch.get_num_threads(), len(idx)))
    if threads == 1:
        for q in range(len(idx)):
            train(q)
    else:  # ctypes lets go of the GIL: replicates train side by side, each on one thread
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(train, range(len(idx))))
    if -2 in rcs:
        raise MemoryError("the h2o kernel could not allocate its work buffers")
    if any(rcs):
        raise ValueError(f"the h2o kernel holds layers up to {MAX_WIDTH} wide and "
                         f"{MAX_LAYERS} deep; this net's widths are {sizes.tolist()}")
