"""Rule config_page: the configuration this report was made with (defaults filled in)."""

import html
from pathlib import Path

import yaml

from patchmine.render import html_page
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
text = yaml.safe_dump(dict(sm.config), sort_keys=False, default_flow_style=None, width=100)
note = (
    "report: allow_partial is on - tables and figures may show unfinished experiments, "
    "and say so on themselves."
    if sm.config.get("report", {}).get("allow_partial")
    else "Every table and figure waited for all of its runs."
)
page = html_page("Configuration", [note, f"<pre>{html.escape(text)}</pre>"])
Path(sm.output[0]).write_text(page, encoding="utf-8")
log.info("configuration page written")
