"""The report's figures (PNG, matplotlib without pyplot): each claim's learning curves (with
published points overlaid, and training beside test accuracy where the claim asks), and per
digit pair the contenders' curves side by side and the pair's mean images."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .records import _atomic_write, _num, slug
from .text import _effect_text, _p_text

#: a figure's subtitle colour per verdict
_VERDICT_LINE = {"SUPPORTED": "#1a7f37", "REFUTED": "#cf222e", "INCONCLUSIVE": "#9a6700",
                 "ERROR": "#57606a"}
# Colour-blind-friendly palette: Okabe & Ito (yellow left out: unreadable on white), then
# Paul Tol's muted scheme. Known contenders have fixed colours; any other name gets a colour
# from a stable hash of its name, so it is the same in every figure of every run.
_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
            "#882255", "#44AA99", "#999933", "#332288", "#AA4499", "#117733", "#88CCEE")
_FIXED_COLOURS = {
    "leekasso": "#0072B2",
    "naive_dnn": "#D55E00",
    "naive_dnn_argmax": "#E69F00",
    "beam_cnn": "#009E73",
    "beam_mlp": "#CC79A7",
    "beam_leek_net": "#882255",
    "beam_leek_net_no_decay": "#44AA99",
    "beam_leekasso": "#56B4E9",
    "centre_edge_rule": "#999933",
    "well_trained_leek_net": "#000000",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


def _stable_index(name: str, modulo: int) -> int:
    return int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:4], "big") % modulo


def contender_colour(name: str) -> str:
    """The colour of a contender in every figure (fixed for known names, else by name hash)."""
    return _FIXED_COLOURS.get(name) or _PALETTE[_stable_index(name, len(_PALETTE))]


def plot_claim(claim: dict, path: Path) -> None:
    """Write the claim's learning-curve figure (PNG) to ``path`` (atomically)."""
    _atomic_write(Path(path), _render_png(claim))


# --------------------------------------------------------------------------- figures

def _series(claim: Mapping) -> dict[str, list[dict]]:
    """per_size rows grouped by contender (in the order of claim['contenders'] first)."""
    groups: dict[str, list[dict]] = {}
    for name in claim.get("contenders") or []:
        groups.setdefault(str(name), [])
    for row in claim.get("per_size") or []:
        groups.setdefault(str(row.get("contender")), []).append(row)
    for rows in groups.values():
        rows.sort(key=lambda r: r.get("n") or 0)
    return {k: v for k, v in groups.items() if v}


def _render_png(claim: Mapping) -> bytes:
    from matplotlib.figure import Figure  # no pyplot: no global backend state is touched

    fit_panel = [str(x) for x in claim.get("train_vs_test") or []]
    fig = Figure(figsize=(12, 4.8) if fit_panel else (7, 4.5), dpi=110)
    ax = fig.add_subplot(1, 2, 1) if fit_panel else fig.add_subplot()
    series = _series(claim)
    refs = [r for r in claim.get("references") or [] if r.get("n") and r.get("acc")]

    used_colours: set[str] = set()
    colours: dict[str, str] = {}
    for name in series:  # same contender, same colour; a clash within a figure moves along
        col = contender_colour(name)
        if col in used_colours:
            col = next((p for p in _PALETTE if p not in used_colours), col)
        colours[name] = col
        used_colours.add(col)

    lows: list[float] = []
    all_n: set[int] = set()
    handles: list = []
    for rows in series.values():
        all_n.update(int(r.get("n")) for r in rows)
    for ref in refs:
        all_n.update(int(x) for x in ref["n"])
    span = (max(all_n) - min(all_n)) if all_n else 0
    dodge = 0.012 * span if span else 0.5  # single-size series side by side, not on top
    singles = [name for name, rows in series.items() if len(rows) == 1]
    for i, (name, rows) in enumerate(series.items()):
        col = colours[name]
        marker = _MARKERS[_stable_index(name, len(_MARKERS))]
        n = np.array([r.get("n") for r in rows], dtype=float)
        mean = np.array([_num(r.get("mean_acc")) if _num(r.get("mean_acc")) is not None
                         else np.nan for r in rows], dtype=float)
        lo = np.array([_num(r.get("ci_low")) if _num(r.get("ci_low")) is not None
                       else np.nan for r in rows], dtype=float)
        hi = np.array([_num(r.get("ci_high")) if _num(r.get("ci_high")) is not None
                       else np.nan for r in rows], dtype=float)
        lows.extend(float(x) for x in np.concatenate([lo, mean]) if np.isfinite(x))
        draws = sorted({int(r.get("draws") or 0) for r in rows})
        d_text = f"{draws[0]}" if len(draws) == 1 else f"{draws[0]}-{draws[-1]}"
        label = f"{name} ({d_text} draws)"
        if len(n) > 1:
            ax.fill_between(n, lo, hi, color=col, alpha=0.16, linewidth=0)
            handles += ax.plot(n, mean, color=col, marker=marker, markersize=5, linewidth=1.8,
                               label=label, zorder=3)
        else:
            yerr = np.array([[mean[0] - lo[0]], [hi[0] - mean[0]]])
            yerr = np.where(np.isfinite(yerr), yerr, 0.0)
            x = n + dodge * (singles.index(name) - (len(singles) - 1) / 2)
            handles.append(ax.errorbar(x, mean, yerr=yerr, color=col, marker=marker,
                                       markersize=6, capsize=4, linewidth=1.8, label=label,
                                       zorder=3))

    sources: list[str] = []
    for j, ref in enumerate(refs):
        owner = ref.get("contender")
        col = (colours.get(str(owner)) or contender_colour(str(owner))) if owner else "#555555"
        rn = np.array(ref["n"], dtype=float)
        ra = np.array([_num(a) if _num(a) is not None else np.nan for a in ref["acc"]], dtype=float)
        lows.extend(float(x) for x in ra if np.isfinite(x))
        handles += ax.plot(rn, ra, linestyle="--", linewidth=1.1, color=col, marker="o", markersize=5.5,
                markerfacecolor="none", markeredgewidth=1.2, alpha=0.9,
                label=f"{ref.get('label')} (published)", zorder=2)
        src = str(ref.get("source") or "")
        if src and src not in sources:
            sources.append(src)

    if not series and not refs:
        ax.text(0.5, 0.5, f"no per-size results (verdict {claim.get('verdict')})",
                transform=ax.transAxes, ha="center", va="center", fontsize=11, color="#57606a")

    ymin = max(0.0, min(lows) - 0.02) if lows else 0.5
    ax.set_ylim(min(ymin, 0.98), 1.005)
    if all_n:
        ticks = sorted(all_n)
        if len(ticks) <= 18:
            ax.set_xticks(ticks)
        pad = max(2.0, 0.04 * (ticks[-1] - ticks[0]))
        ax.set_xlim(ticks[0] - pad, ticks[-1] + pad)
    ax.set_xlabel("Training set size")
    ax.set_ylabel("Test accuracy")
    _style_axes(ax)
    ax.set_axisbelow(True)
    if series or refs:
        ax.legend(handles=handles, loc="best", fontsize=8, frameon=True, framealpha=0.9)

    verdict = str(claim.get("verdict"))
    sub = f"{verdict}: effect {_effect_text(claim)} points" if _num(claim.get("effect")) is not None \
        else verdict
    if _num(claim.get("p_value")) is not None:
        sub += f", p = {_p_text(claim.get('p_value'))}"
    fig.suptitle(f"{claim.get('id')}  —  task {claim.get('task')} ({claim.get('scale')})",
                 fontsize=11, fontweight="bold")
    ax.set_title(sub, fontsize=9, color=_VERDICT_LINE.get(verdict, "#24292f"))
    band = ("shaded" if len(singles) < len(series) else "") + \
        (" / " if singles and len(singles) < len(series) else "") + ("bars" if singles else "")
    band = f"{band or 'shaded'}: 95% interval of the mean over draws"
    foot = band + ("; published: " + "; ".join(sources) if sources else "")
    fig.text(0.01, 0.01, foot, fontsize=6.5, color="#57606a", ha="left", va="bottom", wrap=True)
    if fit_panel:
        _train_test_panel(fig.add_subplot(1, 2, 2), series, fit_panel, colours)
        fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.16, wspace=0.18)
    else:
        fig.subplots_adjust(left=0.1, right=0.98, top=0.86, bottom=0.16)

    return _png(fig, dpi=110)


def _style_axes(ax) -> None:
    """The report's plot style: a light grid, no top or right spine."""
    ax.grid(True, color="#d0d7de", linewidth=0.6, alpha=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _png(fig, dpi: int) -> bytes:
    """The figure as PNG bytes, without a timestamped software tag (reproducible files)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _train_test_panel(ax, series: Mapping[str, list[dict]], names: list[str],
                      colours: Mapping[str, str]) -> None:
    """Training (dashed, hollow) against test (solid) accuracy per n: a net that fits its
    draw but tests badly overfits; one that does not even fit its draw is under-trained."""
    lows: list[float] = []
    for name in names:
        rows = series.get(name) or []
        if not rows:
            continue
        col = colours.get(name) or contender_colour(name)
        n = np.array([r.get("n") for r in rows], dtype=float)
        test = np.array([_num(r.get("mean_acc")) for r in rows], dtype=float)
        train = np.array([_num(r.get("mean_train_acc")) if _num(r.get("mean_train_acc")) is not None
                          else np.nan for r in rows], dtype=float)
        lows.extend(float(x) for x in np.concatenate([test, train]) if np.isfinite(x))
        ax.plot(n, test, color=col, marker="o", markersize=4, linewidth=1.8, label=f"{name}: test")
        ax.plot(n, train, color=col, marker="o", markersize=5, linewidth=1.2, linestyle="--",
                markerfacecolor="none", label=f"{name}: train")
    ax.set_ylim(max(0.0, min(lows) - 0.02) if lows else 0.5, 1.005)
    ax.set_xlabel("Training set size")
    ax.set_ylabel("Accuracy")
    ax.set_title("training (dashed) against test (solid) accuracy", fontsize=9)
    _style_axes(ax)
    if lows:
        ax.legend(loc="best", fontsize=7, frameon=True, framealpha=0.9)


_PAIRS_NOTE = ("Per digit pair: the mean image of each digit over the training pool only, and "
               "their difference (red: more ink in the second digit), with the centre/edge "
               "rule's regions outlined (centre solid, edges dashed); and every contender's "
               "learning curve on each pair, side by side.")


def _pair_figures(runs: pd.DataFrame | None, pairs: Mapping) -> list[tuple[str, bytes]]:
    """figures/pairs-curves.png (learning curves per pair, side by side) and
    figures/mean-images-<pair>.png for each pair given in ``pairs``:
    {pair: {"digits": [a, b], "means": [784 floats, 784 floats]}, "regions": {...}}."""
    out = []
    if not pairs:  # drawn for runs of the suite (the plugin passes the pairs' images)
        return out
    tasks = sorted(t for t in runs["task"].unique() if t in pairs) \
        if runs is not None and len(runs) else []
    if tasks:  # the digit pairs only (other tasks have their own claims' figures)
        out.append(("pairs-curves", _render_pair_curves(runs, tasks)))
    regions = pairs.get("regions") or {}
    for task, entry in pairs.items():
        if task == "regions":
            continue
        out.append((f"mean-images-{slug(task)}", _render_mean_images(task, entry, regions)))
    return out


def _render_pair_curves(runs: pd.DataFrame, tasks: list[str]) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(tasks) + 2.2, 4.4), dpi=100)
    axes = [fig.add_subplot(1, len(tasks), i + 1) for i in range(len(tasks))]
    lows = []
    for ax, task in zip(axes, tasks):
        sub = runs[runs["task"] == task]
        for name, g in sub.groupby("contender", sort=True):
            m = g.groupby("n")["test_acc"].mean()
            lows.append(float(m.min()))
            ax.plot(m.index, m.values, marker=_MARKERS[_stable_index(name, len(_MARKERS))],
                    markersize=4, linewidth=1.5, color=contender_colour(name), label=name)
        ax.set_title(f"task {task}", fontsize=10)
        ax.set_xlabel("Training set size")
        _style_axes(ax)
    low = max(0.0, min(lows) - 0.02) if lows else 0.5
    for ax in axes:
        ax.set_ylim(low, 1.005)
    axes[0].set_ylabel("Mean test accuracy")
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=7, frameon=True, framealpha=0.9)
    fig.suptitle("Learning curves by digit pair (mean over draws)", fontsize=11, fontweight="bold")
    fig.subplots_adjust(left=0.07, right=0.8, top=0.86, bottom=0.13, wspace=0.15)
    return _png(fig, dpi=100)


def _render_mean_images(task: str, entry: Mapping, regions: Mapping) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    a, b = entry["digits"]
    ma, mb = (np.asarray(m, dtype=float).reshape(28, 28) for m in entry["means"])
    fig = Figure(figsize=(9.5, 3.4), dpi=100)
    panels = [(f"mean {a} (training pool)", ma, "gray_r", 0, 255),
              (f"mean {b} (training pool)", mb, "gray_r", 0, 255),
              (f"mean {b} − mean {a}", mb - ma, "RdBu_r", -255, 255)]
    for i, (title, img, cmap, lo, hi) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([0, 4, 8, 12, 16, 20, 24])
        ax.set_yticks([0, 4, 8, 12, 16, 20, 24])
        ax.tick_params(labelsize=6)
        for kind, style in (("centre", "-"), ("edge", "--")):
            for r0, r1, c0, c1 in regions.get(kind, ()):
                ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                                       edgecolor="#009E73", linewidth=1.4, linestyle=style))
    fig.suptitle(f"Digit pair {task}: where the ink is", fontsize=11, fontweight="bold")
    fig.subplots_adjust(left=0.03, right=0.99, top=0.82, bottom=0.06, wspace=0.15)
    return _png(fig, dpi=100)
