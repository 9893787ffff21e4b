"""The population history of a settlement as an SVG chart (matplotlib, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

matplotlib.rcParams["svg.hashsalt"] = "homeward"  # the same data gives the same bytes


def population_svg(
    years: Sequence[int], totals: Sequence[int | None], community: Sequence[int | None], *, labels: tuple[str, str, str]
) -> bytes:
    total_label, community_label, title = labels
    fig, ax = plt.subplots(figsize=(6.4, 3.0), dpi=100)
    try:
        ax.plot(years, [t if t is not None else float("nan") for t in totals], marker="o", color="#0b5394",
                label=total_label)  # fmt: skip
        ax.plot(years, [c if c is not None else float("nan") for c in community], marker="s", linestyle="--",
                color="#7a4a00", label=community_label)  # fmt: skip
        ax.set_title(title.replace("$", r"\$"), fontsize=11)  # a title is text, never mathtext
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#c9d1d9")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False, fontsize=9)
        out = io.BytesIO()
        fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
        return out.getvalue()
    finally:
        plt.close(fig)
