"""Rule store_page: a patch store's per-image summary -> a page of the report."""

from pathlib import Path

import pandas as pd

from patchmine.render import frame_html, html_page
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
w = sm.wildcards
images = pd.read_csv(sm.input[0], keep_default_na=False)
skipped = images[images["skipped"].astype(str) != ""]
lines = [
    f"{len(images)} images, {len(skipped)} skipped; {int(images['patches'].sum()):,} patches of "
    f"{w.patch}x{w.patch} pixels cut at stride {w.stride}.",
]
page = html_page(
    f"Patch store {w.dataset}, patch {w.patch}, stride {w.stride}",
    lines
    + [
        frame_html(images[["name", "height", "width", "patches", "skipped", "source"]]),
    ],
)
Path(sm.output[0]).write_text(page, encoding="utf-8")
log.info(lines[0])
