"""Text from a link, a file or the data never writes into the page (issue 13, item 1).

Streamlit renders Markdown in bodies, labels and help texts: a crafted parameter
name used to become a live link, a fetched image, giant LaTeX or red text. The
helper `ui.text.plain` makes such text inert; the page names bad parameters
briefly. Checked three ways: the helper alone, the page in AppTest (what it sends
to the browser) and the page in a real browser (what a person would see and what
the browser fetches).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pandas as pd
import pytest

from dashboard import NOTE_NAME_LENGTH, NOTE_NAMES
from pipeline.report import area_title
from tests import test_browser
from tests.conftest import ROWS, build_store, needs_snapshot, sync_files, write_layers
from tests.test_dashboard import app
from ui.text import ELLIPSIS, WORD_JOINER, in_html, plain, squeeze

OUTREACH = Path(__file__).resolve().parents[1] / "pages" / "1_Outreach.py"

# The browser test's Streamlit server (real snapshot) and Chromium, as fixtures here too.
server, browser = test_browser.server, test_browser.browser

LINK = "[Click here](http://example.invalid)"
IMAGE = "![x](http://example.invalid/p.png)"
LATEX = r"$\huge SHOOTINGS UP 900\%$"
COLOUR = ":red[**SHOOTINGS UP 900%**]"
HTML = "<img src=x onerror=alert(1)>"
LONG = "x" * 3000  # sorts after the others: the note names those first
ATTACKS = [LINK, IMAGE, LATEX, COLOUR]
NOTE = "Some link settings were not valid and were replaced by defaults: "

HELPER_CASES = {
    "link": LINK,
    "image": IMAGE,
    "latex": LATEX,
    "colour": COLOUR,
    "html": HTML,
    "icons-and-emoji": ":material/warning: :material_home: :streamlit: :smile:",
    "bare-urls": "www.example.invalid foo@example.invalid http://example.invalid",
    "newlines": "first\n\n# heading\r\n- item\n> quote\t`code`",
    "long-name": LONG,
}


def read(markdown: str) -> str:
    """What a reader sees of `plain`'s output: escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


def unescaped(markdown: str) -> list[str]:
    """ASCII punctuation in `markdown` that Markdown would still act on."""
    found, escaped = [], False
    for ch in markdown:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in string.punctuation:
            found.append(ch)
    return found


# -- the helper ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", list(HELPER_CASES.values()), ids=list(HELPER_CASES))
def test_plain_leaves_no_markdown_syntax(text: str) -> None:
    out = plain(text, limit=5000)
    assert not unescaped(out)
    assert "\n" not in out and "\r" not in out and "\t" not in out
    # Streamlit finds icons, emoji, directives and bare URLs in already-parsed text, where
    # escapes are gone: a word joiner after every ':' and before every '.' breaks them.
    assert not re.search(f":(?!{WORD_JOINER})", out)
    assert not re.search(f"(?<!{WORD_JOINER})\\\\\\.", out)
    assert not re.search(r"https?:|www\.|@[\w-]+\.", out)
    assert "](" not in out and "$\\huge" not in out and ":red[" not in out


@pytest.mark.parametrize("text", list(HELPER_CASES.values()), ids=list(HELPER_CASES))
def test_plain_reads_as_sent_on_one_line(text: str) -> None:
    assert read(plain(text, limit=5000)) == " ".join(text.split())


@pytest.mark.parametrize("limit", [1, 30, 80])
def test_plain_cuts_long_text_with_an_ellipsis(limit: int) -> None:
    out = plain(LONG, limit)
    assert len(read(out)) == limit and read(out).endswith(ELLIPSIS)
    assert len(plain(":" * 3000, limit)) <= 3 * limit  # escapes at most triple the length


def test_plain_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="`limit` was 0"):
        plain("x", 0)


def test_plain_drops_invisible_and_reordering_characters() -> None:
    assert read(plain("a\u202eb\u200bc\u2060d")) == "abcd"


@pytest.mark.parametrize("text", list(HELPER_CASES.values()), ids=list(HELPER_CASES))
def test_in_html_escapes_tags_and_keeps_one_line(text: str) -> None:
    out = in_html(text, limit=5000)
    assert "<" not in out and ">" not in out and "\n" not in out and ":" not in out
    assert len(in_html(LONG)) == len(squeeze(LONG, 80)) == 80


# -- the page in AppTest ------------------------------------------------------------------

# Proto fields Streamlit renders as Markdown; select box options are plain text.
MARKDOWN_FIELDS = {"body", "label", "help", "message", "Radio.options"}
RENDERED = [
    re.compile(r"(?<!\\)\]\("),  # a link or image
    re.compile(r"(?<!\\)\$\\huge"),  # LaTeX
    re.compile(r"(?<!\\):red\["),  # a colour directive
    re.compile(r"(?<!\\)<img src=x"),  # HTML
    re.compile(r"http://example\.invalid"),  # a bare URL (autolinked after parsing)
]


def _strings(proto: Any) -> Iterator[tuple[str, str]]:
    for field, value in proto.ListFields():
        items = value if field.is_repeated else [value]
        for item in items:
            if field.type == field.TYPE_MESSAGE:
                yield from _strings(item)
            elif field.type == field.TYPE_STRING:
                yield f"{type(proto).__name__}.{field.name}", item


def rendered_text(at: Any) -> list[str]:
    """Every string the page sends that the browser renders as Markdown."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if getattr(node, "proto", None) is not None:
            out.extend(
                text
                for where, text in _strings(node.proto)
                if where in MARKDOWN_FIELDS or where.split(".")[1] in MARKDOWN_FIELDS
            )
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def live_markup(at: Any) -> list[str]:
    return [t[:120] for t in rendered_text(at) for p in RENDERED if p.search(t)]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("inject"), ROWS)


@pytest.mark.parametrize(
    "name", [*ATTACKS, HTML, LONG], ids=["link", "image", "latex", "colour", "html", "long-name"]
)
def test_a_hostile_parameter_name_is_named_escaped(store, monkeypatch, name: str) -> None:
    at = app(store, monkeypatch, **{name: "1"})
    assert not at.exception
    assert at.warning[0].value == NOTE + plain(name, NOTE_NAME_LENGTH) + "."
    assert len(at.warning[0].value) <= len(NOTE) + 3 * NOTE_NAME_LENGTH + 1
    assert not live_markup(at)
    assert name not in at.query_params  # the link written back drops it


def test_many_hostile_names_give_a_short_note(store, monkeypatch) -> None:
    names = sorted([*ATTACKS, HTML, LONG])
    at = app(store, monkeypatch, **{name: name for name in names})
    assert not at.exception
    note = at.warning[0].value
    named = ", ".join(plain(name, NOTE_NAME_LENGTH) for name in names[:NOTE_NAMES])
    assert note == f"{NOTE}{named} and {len(names) - NOTE_NAMES} more."
    assert len(read(note)) <= len(NOTE) + NOTE_NAMES * (NOTE_NAME_LENGTH + 2) + 20
    assert not live_markup(at)


def test_hostile_values_fall_back_and_are_not_echoed(store, monkeypatch) -> None:
    at = app(store, monkeypatch, level=LINK, area=COLOUR, as_of=LATEX, kind=IMAGE, period=LONG)
    assert not at.exception
    assert at.warning[0].value == NOTE + "area, as_of, kind, level, period."
    assert not live_markup(at)
    assert at.radio(key="level").value == "district" and at.selectbox(key="area").value == ""


def hostile_store(folder: Path, label: str, file_name: str) -> Path:
    """A store synced from a file with `file_name`, district 1 labelled `label`."""
    path = folder / file_name
    pd.DataFrame.from_records(ROWS).drop(columns="location").to_csv(path, index=False)
    layers = write_layers(folder / "layers")
    districts = json.loads(layers["districts"].read_text())
    districts["features"][0]["properties"]["dist_label"] = label
    layers["districts"].write_text(json.dumps(districts))
    return sync_files(folder / "data", [path], layers)


def test_area_labels_and_file_names_from_the_data_are_inert(tmp_path, monkeypatch) -> None:
    label = f"{LINK} {LATEX} {COLOUR}"
    data = hostile_store(tmp_path, label, f"v{HTML}.csv.gz")
    at = app(data, monkeypatch, area="1")
    assert not at.exception
    where = plain(area_title("district", "1", label), 120)
    assert at.title[0].value == f"Shootings (fatal and non-fatal): {where}"
    freshness = next(m.value for m in at.markdown if m.value.startswith('<p class="freshness"'))
    assert "<img" not in freshness  # the file names are in the definitions, as plain text
    source = next(m.value for m in at.markdown if m.value.startswith("Source"))
    assert plain(f"v{HTML}.csv.gz", 300) in source  # escaped: `\\<img`, shown as text
    assert not live_markup(at)


def test_a_hostile_community_area_name_is_inert_on_the_outreach_page(tmp_path, monkeypatch) -> None:
    """The team area's name comes from the boundary file: it reaches an HTML line."""
    from streamlit.testing.v1 import AppTest

    name = HTML
    path = tmp_path / "v.csv.gz"
    pd.DataFrame.from_records(ROWS).drop(columns="location").to_csv(path, index=False)
    layers = write_layers(tmp_path / "layers")
    areas = json.loads(layers["community_areas"].read_text())
    areas["features"][0]["properties"]["community"] = name
    layers["community_areas"].write_text(json.dumps(areas))
    monkeypatch.setenv("DATA_DIR", str(sync_files(tmp_path / "data", [path], layers)))
    at = AppTest.from_file(str(OUTREACH), default_timeout=60)
    at.query_params.update(scope="community_area", area=name.upper())  # keys: upper case
    at.run()
    assert not at.exception
    line = next(m.value for m in at.markdown if m.value.startswith('<p class="freshness"'))
    assert "<img" not in line.lower() and in_html(name.upper().title(), 120) in line
    assert not live_markup(at)


def test_a_store_path_in_a_note_or_an_error_is_inert(tmp_path, monkeypatch) -> None:
    import duckdb

    linked = tmp_path / "[Click here](http:" / "example.invalid)"
    hostile = linked / "$\\huge X$"
    at = app(hostile, monkeypatch)
    assert plain(hostile / "store.duckdb", 200) in at.info[0].value
    assert not live_markup(at)
    hostile = linked / ":red[X]"  # DuckDB reads a backslash in a path as a separator
    hostile.mkdir(parents=True)
    con = duckdb.connect(str(hostile / "store.duckdb"))
    con.execute("CREATE TABLE victims (unique_id VARCHAR)")
    con.close()
    at = app(hostile, monkeypatch)
    assert "written by an older version" in at.error[0].value
    assert not live_markup(at)


# -- the page in a real browser -----------------------------------------------------------

HOSTILE_LINKS = {
    "names": {name: name for name in [*ATTACKS, LONG]},
    "values": {"level": LINK, "area": IMAGE, "kind": COLOUR, "as_of": LATEX, LONG: LONG},
}


@needs_snapshot
@pytest.mark.skipif(not Path(test_browser.CHROMIUM).exists(), reason="no Chromium")
@pytest.mark.parametrize("params", list(HOSTILE_LINKS.values()), ids=list(HOSTILE_LINKS))
def test_a_crafted_link_writes_nothing_into_the_page(server, browser, params) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server}/?{urlencode(params)}")
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_selector('[data-testid="stTable"]', timeout=60_000)
    note = page.locator('[data-testid="stAlert"]').filter(has_text="link settings").first
    note.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # an injected image would have been asked for by now
    assert page.locator('a[href*="example.invalid"]').count() == 0
    assert page.locator('img[src*="example.invalid"]').count() == 0
    assert not [url for url in requested if "example.invalid" in str(urlsplit(url).hostname)]
    assert page.locator(".katex").count() == 0
    coloured = ".stMarkdownColoredText, .stMarkdownColoredBackground, .stMarkdownBadge"
    assert page.locator(coloured).count() == 0
    text = note.inner_text()
    assert text.startswith(NOTE) and len(text) <= 300
    assert "x" * 100 not in text
    if params is HOSTILE_LINKS["names"]:  # each read as sent, cut short
        seen = text.replace(WORD_JOINER, "")
        assert all(squeeze(name, NOTE_NAME_LENGTH) in seen for name in params)
    assert page.locator("h1").first.inner_text().endswith("Chicago")
    page.close()
