"""Tables as Markdown, HTML and CSV files (patchmine.render): the best value of a column in
bold (ties at the precision shown), "–" for a cell still to come, every test set kept, and
the code spans of messages as code in HTML."""

from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
from report_cases import parse_markdown

from patchmine import render, tables


def test_bold_cells_are_column_maxima(results):
    table = tables.criteria_table(results, test_set="Urban100")
    header, labels, cells = parse_markdown(render.table_markdown(table, decimals=3))
    assert header == list(table.columns) and labels == list(table.index)
    bold = {(r, c) for r, row in enumerate(cells) for c, t in enumerate(row) if t.startswith("**")}
    expected = {(int(np.argmax(table[col].to_numpy())), c) for c, col in enumerate(table.columns)}
    assert bold == expected
    for r, c in product(range(len(labels)), range(len(header))):
        assert float(cells[r][c].strip("*")) == round(table.iat[r, c], 3)


def test_bold_ties_at_displayed_precision():
    table = pd.DataFrame(
        {"10K": [32.071, 32.069, 31.0], "20K": [32.074, 32.076, 30.0], "30K": [1.0, 2.0, 2.0]},
        index=pd.Index(["Grad", "Loss", "Rand"], name="Criteria"),
    )
    _, _, cells = parse_markdown(render.table_markdown(table))
    assert [row[0] for row in cells] == ["**32.07**", "**32.07**", "31.00"]
    assert [row[1] for row in cells] == ["32.07", "**32.08**", "30.00"]
    assert [row[2] for row in cells] == ["1.00", "**2.00**", "**2.00**"]


def test_best_mask_ignores_missing_cells():
    table = pd.DataFrame({"10K": [np.nan, 1.0], "20K": [np.nan, np.nan]}, index=["Grad", "Loss"])
    mask = render.best_mask(table)
    assert mask.to_numpy().tolist() == [[False, False], [True, False]]


def test_write_table_round_trips(results, tmp_path):
    table = tables.criteria_table(results, test_set="Urban100")
    csv, md = tmp_path / "sub" / "t.csv", tmp_path / "t.md"
    render.write_table(table, csv, md)
    back = pd.read_csv(csv, index_col=0)
    np.testing.assert_array_equal(back.to_numpy(), table.to_numpy())  # full precision
    assert list(back.columns) == list(table.columns) and list(back.index) == list(table.index)
    assert md.read_text(encoding="utf-8") == render.table_markdown(table)


def test_tables_of_several_test_sets_keep_every_set(results, tmp_path):
    sets = sorted(results["test_set"].unique())
    assert len(sets) > 1
    by_set = {t: tables.criteria_table(results, test_set=t) for t in sets}
    render.write_tables(by_set, tmp_path / "t.csv", tmp_path / "t.md")
    back = pd.read_csv(tmp_path / "t.csv", index_col=[0, 1])
    for t in sets:
        np.testing.assert_array_equal(back.loc[t].to_numpy(), by_set[t].to_numpy())
    md = (tmp_path / "t.md").read_text(encoding="utf-8")
    for t in sets:
        assert f"## Test set {t}\n\n{render.table_markdown(by_set[t])}" in md
    # a lone table keeps write_table's CSV, and its Markdown still names the title and the set
    render.write_tables({sets[0]: by_set[sets[0]]}, tmp_path / "1.csv", tmp_path / "1.md", "T")
    assert (tmp_path / "1.csv").read_bytes() == _csv_bytes(by_set[sets[0]], tmp_path)
    md = (tmp_path / "1.md").read_text()
    assert md == f"# T\n\n## Test set {sets[0]}\n\n{render.table_markdown(by_set[sets[0]])}"


def _csv_bytes(table: pd.DataFrame, tmp_path: Path) -> bytes:
    render.write_table(table, tmp_path / "alone.csv", tmp_path / "alone.md")
    return (tmp_path / "alone.csv").read_bytes()


def test_write_table_html_page(results, tmp_path):
    table = tables.criteria_table(results, test_set="Urban100")
    render.write_table(table, tmp_path / "t.csv", tmp_path / "t.md", html_path=tmp_path / "t.html",
                       title="Table I")  # fmt: skip
    page = (tmp_path / "t.html").read_text()
    assert page.startswith("<!doctype html>") and "<h1>Table I</h1>" in page
    best = table["10K"].idxmax()
    assert f"<td class='best'>{table.loc[best, '10K']:.2f}</td>" in page


def test_code_spans_of_messages_become_code_in_html():
    frame = pd.DataFrame({"Ours from": ["no published model here (a `published_models` entry)"]})
    html_text = render.frame_html(frame)
    assert "<code>published_models</code>" in html_text and "`" not in html_text
    escaped = render.frame_html(pd.DataFrame({"a": ["<b>`x`</b> & `y"]}))
    assert "&lt;b&gt;<code>x</code>&lt;/b&gt; &amp; `y" in escaped  # still escaped; a lone ` kept


def test_html_tables_show_a_dash_for_a_cell_still_to_come():
    """R4: the HTML table says "–" where the Markdown does, not an empty cell."""
    table = pd.DataFrame({"10K": [np.nan, 31.0]}, index=pd.Index(["Grad", "Rand"], name="C"))
    assert "<td class='missing'>–</td>" in render.table_html(table)
    assert "| Grad | – |" in render.table_markdown(table)
