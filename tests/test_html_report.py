"""The HTML report a person opens: the tiny workflow, `snakemake --report`, then the report in
headless Chromium, driven through the Chrome DevTools Protocol.

Snakemake's report is a single-page React app with no URL routing: every result lives in a
global ``results`` object keyed by its path, and the app object is the global ``app``. The
report's own links (``javascript:app.showResultInfo('<path>')``) and its view buttons call
``app.setView({content: "img" | "html", contentPath: results[path].data_uri, resultPath: path})``,
so that call is the deep link to a result: the test shows each figure and table that way, with
its caption in the side panel, and screenshots it.

The browser is Debian's ``chromium`` (never downloaded here; ``$PATCHMINE_CHROMIUM`` names another
binary); the test skips where it is absent.
CDP runs over ``--remote-debugging-pipe`` (file descriptors 3 and 4, NUL-separated JSON), so no
port is opened and no websocket library is needed. Screenshots are kept in
``<workdir>/screenshots`` (and copied to ``$PATCHMINE_SCREENSHOTS`` when set).
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_workflow import ROOT, snakemake

CHROMIUM = os.environ.get("PATCHMINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]
VIEWPORT = {"width": 1600, "height": 1000, "deviceScaleFactor": 1, "mobile": False}

#: Figure -> (label in the report, a phrase of its caption).
FIGURES = {
    "tiny_psnr_vs_k.png": ("Fig. 6", "against the number of training patches K"),
    "tiny_aug_gain.png": ("Fig. 5", "PSNR gain (dB) of flip/rotation augmentation"),
    "tiny_convergence.png": ("Fig. 4", "against the training iteration"),
    "tiny_histograms.png": ("Fig. 2–3", "histograms of each criterion"),
}

pytestmark = pytest.mark.slow


class Browser:
    """Headless Chromium and one page, driven by CDP over a pipe."""

    def __init__(self, profile: Path):
        cmd_r, cmd_w = os.pipe()  # we write commands, Chromium reads them on fd 3
        res_r, res_w = os.pipe()  # Chromium writes replies and events on fd 4

        def child():  # runs in the child before exec: put the pipe ends on fds 3 and 4
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=child,
            close_fds=False,  # os.pipe() ends are not inheritable; only fds 3 and 4 stay open
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(cmd_r)
        os.close(res_w)
        self.write, self.read = cmd_w, res_r
        self.buffer, self.last_id, self.session = b"", 0, None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride", VIEWPORT)

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self.write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self.buffer:
                left = deadline - time.monotonic()
                ready = select.select([self.read], [], [], max(left, 0))[0]
                if not ready:
                    raise TimeoutError(f"no reply to {method} within {timeout} s")
                chunk = os.read(self.read, 1 << 20)
                if not chunk:
                    raise EOFError("Chromium closed the DevTools pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.last_id:  # events (no id) are skipped
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str, context: int | None = None):
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        if context is not None:
            params["contextId"] = context
        reply = self.call("Runtime.evaluate", params)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression[:80]}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, context: int | None = None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression, context)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"never true: {expression}")

    def screenshot(self, clip: dict | None = None) -> Image.Image:
        params = {"format": "png"}  # captureBeyondViewport would re-lay out the page
        if clip:
            params["clip"] = {**clip, "scale": 1}
        data = self.call("Page.captureScreenshot", params)["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (OSError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.write)
        os.close(self.read)


class ReportPage:
    """The report open in the browser, with deep links to its results."""

    def __init__(self, browser: Browser, path: Path, shots: Path):
        self.browser, self.shots = browser, shots
        browser.call("Page.navigate", {"url": path.resolve().as_uri()})
        browser.wait_for("typeof app !== 'undefined' && document.readyState === 'complete'")
        self.results = json.loads(browser.evaluate("JSON.stringify(results)"))
        self.categories = json.loads(browser.evaluate("JSON.stringify(categories)"))

    def show(self, path: str) -> None:
        """What the report's view button does, plus the result's caption in the side panel."""
        kind = "img" if self.results[path]["mime_type"].startswith("image/") else "html"
        p = json.dumps(path)
        self.browser.evaluate(
            f"app.setView({{navbarMode: 'resultinfo', content: '{kind}', "
            f"contentPath: results[{p}].data_uri, resultPath: {p}}}); true"
        )

    def image_rect(self, path: str) -> dict:
        """The box of the figure ``path`` once the report shows it and the layout has settled
        (React renders after setView returns, and the side panel widens when the caption
        appears, which rescales the image: wait for this very image and a box that holds still)."""
        p = json.dumps(path)
        measure = (
            "(() => { const im = [...document.querySelectorAll('img')]"
            f".find(i => i.getAttribute('src') === results[{p}].data_uri);"
            " if (!im || !im.complete || !im.naturalWidth) return null;"
            " const r = im.getBoundingClientRect(), y = r.y + Math.min(r.height / 2, 20);"
            " const seen = (x) => document.elementFromPoint(x, y) === im;"
            " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height,"
            "  visible: seen(r.x + 2) && seen(r.x + r.width - 2)}; })()"
        )
        last = self.browser.wait_for(measure)
        for _ in range(50):
            time.sleep(0.2)
            now = self.browser.wait_for(measure)
            if now == last:
                return now
            last = now
        raise TimeoutError(f"the layout around {path} never settled")

    def frame_text(self, path: str) -> str:
        """The text of the HTML result ``path`` shown in the report's iframe."""
        uri = self.results[path]["data_uri"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            tree = self.browser.call("Page.getFrameTree")["frameTree"]
            frames = [c["frame"] for c in tree.get("childFrames", [])]
            frames = [f for f in frames if f["url"] == uri]
            if frames:
                world = self.browser.call("Page.createIsolatedWorld", {"frameId": frames[-1]["id"]})
                context = world["executionContextId"]
                text = self.browser.evaluate(
                    "document.readyState === 'complete' ? document.body.innerText : ''", context
                )
                if text:
                    return text
            time.sleep(0.1)
        raise TimeoutError(f"{path} never appeared in the report's frame")

    def side_panel(self) -> str:
        return self.browser.evaluate("document.body.innerText")

    def save(self, image: Image.Image, name: str) -> None:
        self.shots.mkdir(exist_ok=True)
        image.save(self.shots / name)
        if os.environ.get("PATCHMINE_SCREENSHOTS"):
            target = Path(os.environ["PATCHMINE_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            image.save(target / name)


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    """The tiny workflow with every report product, and its HTML report."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is absent (Debian: apt-get install chromium); not downloaded here")
    workdir = tmp_path_factory.mktemp("report")
    shutil.copy(ROOT / "tests" / "data" / "tiny_config.yaml", workdir / "config.yaml")
    done = snakemake(workdir, "--cores", "2", "report_all")
    assert done.returncode == 0, done.stderr[-4000:]
    made = snakemake(workdir, "--report", "results/report.html", "report_all")
    assert made.returncode == 0, made.stderr[-4000:]
    return workdir


@pytest.fixture(scope="module")
def page(report_run, tmp_path_factory):
    browser = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield ReportPage(
            browser, report_run / "results" / "report.html", report_run / "screenshots"
        )
    finally:
        browser.close()


def test_report_holds_every_table_and_figure(page):
    paths = set(page.results)
    figures = {f"results/figures/{name}" for name in FIGURES}
    tables = {f"results/tables/tiny{s}.html" for s in ("", "_runs", "_vs_paper")}
    data = {
        "results/report/config.html",
        "results/report/stores/tiny_train_p32_s64.html",
        *(f"results/report/datasets/{d}.html" for d in ("tiny_val", "tiny_test")),
    }
    whole_paper = {"results/report/paper_vs_ours.html"}
    assert paths == figures | tables | data | whole_paper
    assert set(page.categories) == {"Figures", "Tables", "Paper vs this run", "Data",
                                    "Configuration"}  # fmt: skip
    assert set(page.categories["Figures"]) == {"tiny"}
    for name, (label, _) in FIGURES.items():
        entry = page.results[f"results/figures/{name}"]
        assert entry["mime_type"] == "image/png" and entry["labels"]["figure"] == label
        assert "The paper" in entry["caption"]  # what the paper found, beside what is shown
    # every caption says what the paper found, with its numbers
    assert "0.3 to 0.7 dB" in page.results["results/figures/tiny_aug_gain.png"]["caption"]
    assert "32.07" in page.results["results/tables/tiny.html"]["caption"]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_each_figure_renders(page, report_run, name):
    path = f"results/figures/{name}"
    page.show(path)
    rect = page.image_rect(path)
    label, phrase = FIGURES[name]
    panel = page.side_panel()
    assert label in panel and " ".join(phrase.split()) in " ".join(panel.split())
    page.save(page.browser.screenshot(), f"{Path(name).stem}_view.png")
    assert rect.pop("visible"), f"{name} is partly hidden (under the side panel?): {rect}"
    shown = page.browser.screenshot(rect)
    page.save(shown, f"{Path(name).stem}_figure.png")
    pixels = np.asarray(shown.convert("L"), dtype=float)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300, rect
    assert pixels.std() > 20, f"{name} renders (nearly) blank: std {pixels.std():.1f}"
    # and what renders is the figure file, scaled to its box
    source = Image.open(report_run / path).convert("L").resize(shown.size, Image.LANCZOS)
    difference = np.abs(pixels - np.asarray(source, dtype=float)).mean()
    assert difference < 12, f"{name} differs from its file: mean |difference| {difference:.1f}"


def test_tables_show_the_runs_numbers(page, report_run):
    runs = pd.read_csv(report_run / "results" / "tables" / "tiny_runs.csv")
    assert len(runs) == 10 and runs["seed"].nunique() == 1  # one run per cell of Table I
    page.show("results/tables/tiny.html")
    table1 = page.frame_text("results/tables/tiny.html")
    page.save(page.browser.screenshot(), "table1_view.png")
    for row in runs.itertuples():
        label = row.criterion.capitalize() + ("+" if row.aug == "aug" else "")
        assert f"{label}\t{row.psnr:.2f}" in table1, (label, row.psnr)
    page.show("results/tables/tiny_runs.html")
    listing = page.frame_text("results/tables/tiny_runs.html")
    for row in runs.itertuples():
        assert f"{row.psnr:.3f}" in listing and f"{row.ssim:.4f}" in listing
    page.show("results/tables/tiny_vs_paper.html")
    versus = page.frame_text("results/tables/tiny_vs_paper.html")
    page.save(page.browser.screenshot(), "vs_paper_view.png")
    assert "Table I:" in versus and "Table IV:" in versus
    assert (
        "None of the paper's 56 published numbers for its own networks has a counterpart" in versus
    )


def test_data_and_configuration_pages(page, report_run):
    summary = pd.read_csv(report_run / "results" / "patches" / "tiny_train" / "p32_s64_images.csv")
    page.show("results/report/stores/tiny_train_p32_s64.html")
    store = page.frame_text("results/report/stores/tiny_train_p32_s64.html")
    assert f"{int(summary['patches'].sum()):,} patches" in store
    for row in summary.itertuples():
        assert row.name in store
    page.show("results/report/datasets/tiny_test.html")
    assert "chelsea" in page.frame_text("results/report/datasets/tiny_test.html")
    page.show("results/report/config.html")
    config = page.frame_text("results/report/config.html")
    assert "tiny_train" in config and "experiments" in config


def test_menu_lists_the_figures(page):
    page.browser.evaluate("app.showCategory('Figures'); true")
    panel = page.browser.wait_for(
        "document.body.innerText.includes('Fig. 6') ? document.body.innerText : ''"
    )
    for label, _ in FIGURES.values():
        assert label in panel
    page.save(page.browser.screenshot(), "figures_menu.png")
