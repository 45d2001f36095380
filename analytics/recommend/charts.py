"""A chart of each segment's typical day (or, for daily-read segments, its typical year), as PNG.

No CJK font is installed on this project's machines (`fc-list :lang=zh` is empty), so the charts are
labelled with the segment code and English axis titles; the Chinese name of each code is stored
with the segment and printed by `powerdesk segments build`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analytics.recommend.segments import Segment  # noqa: E402


def segment_chart(segment: Segment, path: Path) -> Path:
    """Write the chart of one segment to `path` (PNG) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    try:
        if segment.typical_day is not None:
            hours = [i / 4 for i in range(96)]
            ax.plot(hours, [v * 100 for v in segment.typical_day], color="#1f6fb2")
            ax.axvspan(8, 22, color="#f4b400", alpha=0.12, label="peak 08-22")
            ax.set_xlim(0, 24)
            ax.set_xticks(range(0, 25, 3))
            ax.set_xlabel("hour of a workday")
            ax.set_ylabel("% of the day's energy per 15 min")
            ax.legend(loc="upper left", fontsize=8)
            kind = "typical workday"
        else:
            ax.bar(range(1, 13), segment.typical_year, color="#1f6fb2")
            ax.set_xticks(range(1, 13))
            ax.set_xlabel("month (daily-read meters: no intraday data)")
            ax.set_ylabel("mean kWh a day")
            kind = "typical year"
        ax.set_title(f"{segment.code} ({segment.group}, n={segment.size}): {kind}", fontsize=10)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
