"""Rule dataset_page: an ingested image set (manifest and skipped files) -> a page of the report."""

from pathlib import Path

import pandas as pd

from patchmine.render import frame_html, html_page
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
manifest = pd.read_csv(sm.input.manifest, keep_default_na=False)
skipped_path = Path(sm.input.manifest).with_name("skipped.csv")
skipped = pd.read_csv(skipped_path, keep_default_na=False) if skipped_path.exists() else None
n_skipped = 0 if skipped is None else len(skipped)
source = ", ".join(f"{k}: {v}" for k, v in sm.params.spec.items())
lines = [f"{len(manifest)} images ingested, {n_skipped} skipped. Source: {source}."]
parts = lines + [frame_html(manifest)]
if n_skipped:
    parts += ["<h2>Skipped images</h2>", frame_html(skipped)]
page = html_page(f"Image set {sm.wildcards.dataset}", parts)
Path(sm.output[0]).write_text(page, encoding="utf-8")
log.info(lines[0])
