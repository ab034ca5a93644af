"""The report chart (matplotlib, PNG): mean per rating item and the NPS breakdown, for one
session or several side by side."""

from __future__ import annotations

import io
import textwrap

import matplotlib

from bot.numfmt import desimal

matplotlib.use("Agg")
# Titles, topics and labels are user text: "$5 dan $10" must stay literal, never mathtext
# (which would garble it, or fail on a stray backslash). Only this module draws charts.
matplotlib.rcParams["text.parse_math"] = False

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bot.feedback.summary import Summary  # noqa: E402

SESSION_COLORS = ["#1f5fa8", "#e0862b", "#3b9a57", "#9b4fb3", "#c23b3b", "#6b7a8f"]
NPS_COLORS = {"det": "#d9534f", "pas": "#b8b8b8", "pro": "#2e9e5b"}


def _wrap_label(text: str, width: int = 28) -> str:
    return "\n".join(textwrap.wrap(text, width)[:3]) or text


def chart_png(summaries: list[Summary], *, dpi: int = 110) -> bytes:
    """One chart: mean per rating item (one bar per item; several sessions side by side), and
    the NPS breakdown (detractors / passives / promoters) per session."""
    if not summaries:
        raise ValueError("no summaries")
    labels: list[str] = []
    for sm in summaries:
        for r in sm.ratings:
            if r.label not in labels:
                labels.append(r.label)
    n_sessions = len(summaries)
    has_nps = any(sm.nps for sm in summaries)
    rows = max(len(labels), 1)
    bar_h = 0.8 / n_sessions
    height = max(4.0, 0.45 * rows * max(1.0, 0.6 * n_sessions) + 1.8)
    fig = Figure(figsize=(11, height + (2.2 if has_nps else 0)), dpi=dpi)
    FigureCanvasAgg(fig)
    if has_nps:
        grid = fig.add_gridspec(2, 1, height_ratios=[height, 0.9 + 0.45 * n_sessions])
        ax = fig.add_subplot(grid[0])
        ax_nps = fig.add_subplot(grid[1])
    else:
        ax = fig.add_subplot(1, 1, 1)
        ax_nps = None

    for si, sm in enumerate(summaries):
        stats = {r.label: r for r in sm.ratings}
        ys, means, ns = [], [], []
        for li, lab in enumerate(labels):
            r = stats.get(lab)
            if r is None or r.mean is None:
                continue
            ys.append(li - 0.4 + bar_h * (si + 0.5))
            means.append(r.mean)
            ns.append(r.n)
        name = f"{sm.session.code} · {sm.session.title}"
        bars = ax.barh(
            ys,
            means,
            height=bar_h * 0.9,
            color=SESSION_COLORS[si % len(SESSION_COLORS)],
            label=textwrap.shorten(name, 60, placeholder="…"),
        )
        for bar, mean, n in zip(bars, means, ns, strict=True):
            ax.text(
                bar.get_width() + 0.05,
                bar.get_y() + bar.get_height() / 2,
                f"{desimal(mean, 2)} (n={n})",
                va="center",
                fontsize=8 if n_sessions > 1 else 9,
            )
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels([_wrap_label(lab) for lab in labels], fontsize=9)
    ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)  # first item on top; room even with no bars
    ax.set_xlim(0, 5.9)
    ax.set_xticks([1, 2, 3, 4, 5])
    ax.axvline(3, color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xlabel("Rata-rata (1-5)")
    ax.grid(axis="x", alpha=0.3)
    if n_sessions == 1:
        sm = summaries[0]
        ax.set_title(
            textwrap.shorten(
                f"{sm.session.title} ({sm.session.code}) · {sm.submitted} respons",
                90,
                placeholder="…",
            ),
            fontsize=11,
        )
    else:
        ax.set_title("Perbandingan sesi: rata-rata per butir", fontsize=11)
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            ncol=min(2, n_sessions),
            fontsize=8,
            frameon=False,
        )
    if not labels:
        ax.text(2.9, 0, "Belum ada penilaian", ha="center", va="center")
    elif not any(r.mean is not None for sm in summaries for r in sm.ratings):
        ax.text(
            2.9,
            (len(labels) - 1) / 2,
            "Belum ada respons terkirim",
            ha="center",
            va="center",
            fontsize=12,
            color="#666666",
        )

    if ax_nps is not None:
        ys = list(range(n_sessions))
        names, det, pas, pro, titles = [], [], [], [], []
        for sm in summaries:
            st = sm.nps[0] if sm.nps else None
            names.append(sm.session.code)
            det.append(st.pct(st.detractors) if st else 0)
            pas.append(st.pct(st.passives) if st else 0)
            pro.append(st.pct(st.promoters) if st else 0)
            score = st.score if st else None
            titles.append(
                f"NPS {score:+.0f} (n={st.n})" if st and score is not None else "NPS - (n=0)"
            )
        ax_nps.barh(ys, det, color=NPS_COLORS["det"], label="Detraktor (0-6)")
        ax_nps.barh(ys, pas, left=det, color=NPS_COLORS["pas"], label="Pasif (7-8)")
        left2 = [a + b for a, b in zip(det, pas, strict=True)]
        ax_nps.barh(ys, pro, left=left2, color=NPS_COLORS["pro"], label="Promotor (9-10)")
        for y, (d, p, r) in enumerate(zip(det, pas, pro, strict=True)):
            for start, width in ((0, d), (d, p), (d + p, r)):
                if width >= 7:
                    ax_nps.text(
                        start + width / 2,
                        y,
                        f"{desimal(width, 0)}%",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white",
                    )
        ax_nps.set_yticks(ys)
        ax_nps.set_yticklabels(
            [f"{n}\n{t}" for n, t in zip(names, titles, strict=True)], fontsize=8
        )
        ax_nps.invert_yaxis()
        ax_nps.set_xlim(0, 100)
        ax_nps.set_xlabel("% responden")
        ax_nps.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8, frameon=False
        )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
