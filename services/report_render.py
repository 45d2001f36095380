"""The satisfaction report as one self-contained HTML file (Jinja2, inline SVG charts) and its PDF.

Charts are hand-made SVG (no fonts baked into images: labels are SVG text, drawn by the browser with the
page's fonts). Chinese wording lives in the template (api/templates/report/satisfaction.html).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from core.errors import UpstreamUnavailable

TEMPLATES = Path(__file__).resolve().parent / "templates" / "report"
PALETTE = ("#1f6fb2", "#e07b39", "#3a9e5c", "#b23a48", "#7a5ea8", "#8c8c8c")


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.0f}"


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    percent: bool = True,
    bounds: tuple[float, float] | None = None,
    width: int = 720,
    height: int = 220,
) -> Markup:
    """A line chart (one line per series, NaN leaves a gap) as inline SVG."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 12, 36
    values = [v for vs in series.values() for v in vs if not math.isnan(v)]
    lo, hi = bounds or ((0.0, 1.0) if percent else (min(values + [0.0]), max(values + [1.0])))
    if hi <= lo:
        hi = lo + 1
    n = max(len(labels), 1)
    x = lambda i: pad_l + (width - pad_l - pad_r) * (i / max(n - 1, 1))  # noqa: E731
    y = lambda v: pad_t + (height - pad_t - pad_b) * (1 - (v - lo) / (hi - lo))  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img">']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        label = f"{v:.0%}" if percent else f"{v:.2g}"
        parts.append(f'<text x="{pad_l - 4}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">{label}</text>')
    step = max(1, math.ceil(n / 10))
    for i in range(0, len(labels), step):
        text = html.escape(labels[i])
        parts.append(f'<text x="{x(i):.1f}" y="{height - 18}" text-anchor="middle" font-size="11">{text}</text>')
    for vs, colour in zip(series.values(), PALETTE, strict=False):
        segments: list[list[str]] = [[]]
        for i, v in enumerate(vs):
            if math.isnan(v):
                segments.append([])
            else:
                segments[-1].append(f"{x(i):.1f},{y(v):.1f}")
        for seg in segments:
            if len(seg) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(seg)}"/>')
            for point in seg:
                cx, cy = point.split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
    for j, (name, colour) in enumerate(zip(series, PALETTE, strict=False)):
        lx = pad_l + j * 150
        parts.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{height - 3}" font-size="11">{html.escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: Sequence[str], values: Sequence[float], *, width: int = 720, bar_height: int = 18) -> Markup:
    """Horizontal bars with their values (counts), as inline SVG."""
    label_w, pad = 150, 8
    top = max([v for v in values if not math.isnan(v)] + [1.0])
    height = pad * 2 + bar_height * len(labels) * 1.3
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" class="chart" role="img">']
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        yy = pad + i * bar_height * 1.3
        w = 0 if math.isnan(v) else (width - label_w - 70) * v / top
        parts.append(
            f'<text x="{label_w - 6}" y="{yy + bar_height * 0.75:.1f}" text-anchor="end" font-size="12">'
            f"{html.escape(str(label))}</text>"
        )
        parts.append(f'<rect x="{label_w}" y="{yy:.1f}" width="{w:.1f}" height="{bar_height}" fill="{PALETTE[0]}"/>')
        parts.append(
            f'<text x="{label_w + w + 4:.1f}" y="{yy + bar_height * 0.75:.1f}" font-size="12">{_fmt(v)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def render_html(context: dict[str, Any]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["pct"] = lambda v: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"
    env.filters["num"] = lambda v, d=0: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{d}f}"
    return env.get_template("satisfaction.html").render(**context)


def print_pdf(html_path: Path, pdf_path: Path, *, screenshot: Path | None = None) -> None:
    """Print the HTML file to PDF (A4) with headless Chromium through Playwright; optionally a screenshot."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is in the lock file
        raise UpstreamUnavailable("playwright is not installed; run `make setup` or pass --no-pdf") from exc
    executable = _chromium()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.pdf(path=str(pdf_path), format="A4", print_background=True, margin={"top": "12mm", "bottom": "12mm"})
            if screenshot is not None:
                page.emulate_media(media="screen")
                page.screenshot(path=str(screenshot), full_page=True)
            browser.close()
    except PlaywrightError as exc:
        raise UpstreamUnavailable(
            f"headless Chromium could not print the report: {exc}; pass --no-pdf to skip"
        ) from exc


def _chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")
