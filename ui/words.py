"""What the page says, as pure functions of values: area names and their order, the
CompStat table for people, the freshness banner, missing months, the basis line.

No Streamlit here: every function takes plain values and returns text or a new
DataFrame, so each can be tested alone. Text from the data (area labels) is
returned as read; the page passes it through `ui.text.plain` before Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import pandas as pd

from pipeline import report, stats, trends
from pipeline.aggregate import KINDS
from pipeline.config import LEVELS
from pipeline.report import PeriodWords, span_text
from pipeline.trends import Span

#: Levels listed by number (keys are numbers); the others by name, alphabetically.
NUMBERED_LEVELS = ("district", "beat", "zip_code")
#: A newest record older than this many days before today makes the page say so.
STALE_AFTER_DAYS = 14
KIND_WORDS = {
    "shootings": "shootings",
    "fatal_shootings": "fatal shootings",
    "nonfatal_shootings": "non-fatal shootings",
    "homicides": "homicides",
}
BASIS_WORDS = {"recorded": "CPD's recorded codes", "geometry": "location on the current map"}


def title_case(text: str) -> str:
    """'ALBANY PARK' -> 'Albany Park', "O'HARE" -> "O'Hare", 'MCKINLEY PARK' ->
    'McKinley Park'. Text already in mixed case is kept as its source wrote it."""
    if text != text.upper():
        return text
    return " ".join(_title_word(w) for w in text.split(" "))


def _title_word(word: str) -> str:
    if "-" in word:
        return "-".join(_title_word(w) for w in word.split("-"))
    low = word.lower()
    if len(low) > 2 and low[1] == "'":  # O'Hare
        return low[:2].upper() + low[2:].capitalize()
    if low.startswith("mc") and len(low) > 2:  # McKinley
        return "Mc" + low[2:].capitalize()
    return low.capitalize()


def area_name(level: str | None, key: str, label: str | None = None) -> str:
    """An area as people call it: 'District 17 (17TH)', 'Beat 1713', 'ZIP code 60625',
    and community areas and neighbourhoods by name alone ('Albany Park')."""
    if level is None or not key:
        return "Chicago"
    if level in NUMBERED_LEVELS:
        return report.area_title(level, key, label)
    return title_case(label or key)


def sorted_areas(level: str, keys: Iterable[str], labels: Mapping[str, str]) -> list[str]:
    """Keys in the order a person looks for them: by number (districts, beats, ZIP
    codes), or alphabetically by the name shown."""
    if level in NUMBERED_LEVELS:
        return sorted(keys, key=lambda k: (0, int(k), k) if k.isdigit() else (1, 0, k))
    return sorted(keys, key=lambda k: area_name(level, k, labels.get(k)).casefold())


def stale_note(latest: date, today: date) -> str:
    """A banner's text when the newest record is more than STALE_AFTER_DAYS before today."""
    age = (today - latest).days
    if age <= STALE_AFTER_DAYS:
        return ""
    return (
        f"The data may be out of date: the newest record is from {latest:%d %b %Y}, "
        f"{age} days before today ({today:%d %b %Y}). Shootings since then are not counted."
    )


def missing_months(have: set[str], span: Span) -> list[str]:
    """Months ('YYYY-MM') inside `span` with no record at all in the store."""
    return [m for m in trends.months_of(span) if m not in have]


def month_ranges(months: list[str]) -> str:
    """'Jan 2023 - Aug 2024 (20 months), Nov 2024' from sorted 'YYYY-MM' strings."""
    periods = sorted(pd.Period(m, freq="M") for m in months)
    runs: list[list[pd.Period]] = []
    for month in periods:
        if runs and month - runs[-1][-1] == 1 * month.freq:
            runs[-1].append(month)
        else:
            runs.append([month])
    return ", ".join(
        f"{run[0]:%b %Y}"
        if len(run) == 1
        else f"{run[0]:%b %Y} \u2013 {run[-1]:%b %Y} ({len(run)} months)"
        for run in runs
    )


def gaps_note(
    missing_now: list[str], missing_before: list[str], words: PeriodWords, spans: tuple[Span, Span]
) -> str:
    """The months missing inside the compared spans, listed, and what that means."""
    parts = [
        f"{month_ranges(months)} ({name}, {span_text(span)})"
        for months, name, span in (
            (missing_now, words.now, spans[0]),
            (missing_before, words.before, spans[1]),
        )
        if months
    ]
    if not parts:
        return ""
    return (
        "The store has no records at all for "
        + " and for ".join(parts)
        + ". Counts there are incomplete, so no change or verdict is given."
    )


def compstat_display(
    table: pd.DataFrame,
    words: PeriodWords,
    spans: tuple[Span, Span],
    missing: tuple[bool, bool] = (False, False),
    partial: tuple[bool, bool] = (False, False),
) -> pd.DataFrame:
    """The CompStat table for people, indexed by what is counted; the column headers
    name both spans and their dates. Where the store has a hole in the spans, a span
    with no record at all (`missing`) reads 'no data', one with some months missing
    (`partial`) 'N (incomplete)', and the change 'not comparable' (never a count of 0
    against '+7 (new)')."""
    incomplete = table["verdict"].eq(trends.INCOMPLETE)
    now = f"{words.now} ({span_text(spans[0])})"
    before = f"{words.before} ({span_text(spans[1])})"

    def counts(column: str, gone: bool, part: bool) -> list[str]:
        suffix = " (incomplete)" if part and not gone else ""
        return ["no data" if gone else f"{int(n)}{suffix}" for n in table[column]]

    out = pd.DataFrame(
        {
            "what": table["kind"].map(lambda k: KIND_WORDS.get(k, k)),
            now: counts("current", missing[0], partial[0]),
            before: counts("previous", missing[1], partial[1]),
            "change": [
                "not comparable"
                if gone
                else f"{int(c) - int(p):+d} ({stats.describe_pct(c, p)})"
                if c or p
                else "none in either"
                for c, p, gone in zip(table["current"], table["previous"], incomplete, strict=True)
            ],
            "verdict": table["verdict"],
        }
    )
    return out.set_index("what")


def basis_difference(
    shown: pd.DataFrame,
    other: pd.DataFrame | None,
    basis: str,
    level: str,
    where: str,
    words: PeriodWords,
) -> str:
    """One line saying where counting on the other basis would differ, by how much and
    why ('' when both agree). `shown` is a `compstat()` table, `other` the counts on the
    other basis (`compstat.kind_counts`)."""
    if other is None:
        return ""
    mine = {row["kind"]: row for row in shown.to_dict("records")}
    theirs = {row["kind"]: row for row in other.to_dict("records")}
    other_basis = "geometry" if basis == "recorded" else "recorded"
    parts = []
    for kind in (k.replace("-", "_") for k in KINDS):
        for column, span_words in (("current", words.now_in), ("previous", words.before_in)):
            here, there = int(mine[kind][column]), int(theirs[kind][column])
            if here != there:
                parts.append(
                    f"{there} {KIND_WORDS[kind]} {span_words} "
                    f"({abs(there - here)} {'more' if there > here else 'fewer'})"
                )
    if not parts:
        return ""
    code = LEVELS[level].title.lower()
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"Counted by {BASIS_WORDS[basis]}. By {BASIS_WORDS[other_basis]}, {where} would show "
        f"{listed}: records keep the {code} CPD wrote at the time, and a few lie just "
        "across its current boundary (often on a border street)."
    )


def headline(table: pd.DataFrame, kind: str, words: PeriodWords) -> str:
    """The selected kind's comparison in one sentence that leads with the verdict."""
    row = table.set_index("kind").loc[kind.replace("-", "_")].to_dict()
    what = KIND_WORDS[kind.replace("-", "_")]
    if row["verdict"] == trends.INCOMPLETE:
        return "No verdict: the store has no records for part of these periods (see above)."
    return report.summary_sentence(row, what, words=words)


def gap_weeks(span: Span, months: list[str]) -> set[int]:
    """Week numbers of `span` (week 1 = its first 7 days) that touch a month in `months`."""
    if not months:
        return set()
    gone = set(months)
    days = pd.date_range(span.start, span.end, freq="D")
    return {i // 7 + 1 for i, day in enumerate(days) if f"{day:%Y-%m}" in gone}


def all_missing(missing: list[str], span: Span) -> bool:
    """Whether `missing` (from `missing_months`) is every month of `span`."""
    return len(missing) == len(missing_months(set(), span))
