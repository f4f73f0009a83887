"""Writing a figure to disk: a PNG no wider than the HTML report's content pane, and a PDF.

Every figure is saved through :func:`save_figure`, so the width limit holds for all of them
alike and the rule scripts never choose a resolution themselves.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

#: Widest PNG written (pixels): wider figures are saved at a lower resolution, so that they fit
#: the content pane of Snakemake's HTML report (which cuts off what overflows on the left) and a
#: laptop screen; the PDF keeps every detail.
MAX_PNG_WIDTH = 1100
PNG_DPI = 150


def save_figure(fig: Figure, path_png: str | Path, path_pdf: str | Path | None = None) -> None:
    """Save PNG (at most :data:`MAX_PNG_WIDTH` pixels wide) and optionally PDF, creating
    folders, since workflow outputs may be nested."""
    from io import BytesIO

    from PIL import Image

    for path in (path_png, path_pdf):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    dpi = PNG_DPI
    for _ in range(4):  # the tight box does not scale exactly with the resolution
        buffer = BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        width = Image.open(BytesIO(buffer.getvalue())).width
        if width <= MAX_PNG_WIDTH:
            break
        dpi *= 0.995 * MAX_PNG_WIDTH / width
    Path(path_png).write_bytes(buffer.getvalue())
    if path_pdf is not None:
        fig.savefig(path_pdf, bbox_inches="tight")
