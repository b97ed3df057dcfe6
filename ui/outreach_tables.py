"""The Outreach page's tables in plain words: pure functions, DataFrames in, new ones out.

Statistics (z, p, trend) go to a details column; areas are named by a place
people know; the open windows carry a map link built from their coordinates
only (never from data text).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from geo.hotspots import NOT_SIGNIFICANT
from ui.text import in_html

EMERGING_WORDS = {
    "new": "emerging: new hot spot",
    "consecutive": "emerging: hot for the last months in a row",
    "intensifying": "emerging: intensifying hot spot",
    "persistent": "emerging: persistent hot spot",
    "diminishing": "emerging: diminishing hot spot",
    "sporadic": "emerging: on-and-off hot spot",
    "historical": "emerging: former hot spot (not now)",
    "no pattern": "no pattern",
}
MAP_ZOOM = 17


def class_words(label: str) -> str:
    """'hot 99 %' -> 'hot spot, 99 % confidence'."""
    if label == NOT_SIGNIFICANT or " " not in label:
        return "no significant cluster"
    side, level = label.split(" ", 1)
    return f"{side} spot, {level} confidence"


def in_team(places: pd.DataFrame, scope: str, chosen: Sequence[str]) -> set[str]:
    """Areas (of `places`, see `pipeline.outreach.area_places`) inside the team area."""
    if scope == "city" or not chosen:
        return set(places["area"].tolist())
    column = {"district": "district", "beats": "beat", "community_area": "community_area"}[scope]
    return set(places.loc[among(places[column], set(chosen)), "area"].tolist())


def among(values: pd.Series, keep: set[str]) -> np.ndarray:
    """`values.isin(keep)` by one set lookup per value: pandas' `isin` on its Arrow-backed
    strings first makes an Arrow scalar of every member of `keep` (~55 ms for the city's
    5,647 hexagons, against ~1 ms here, and a hexagon rerun asks four times)."""
    return np.fromiter((v in keep for v in values.tolist()), dtype=bool, count=len(values))


def hotspot_rows(hot: pd.DataFrame, names: Mapping[str, str], keep: set[str]) -> pd.DataFrame:
    """Significant areas of the team area, hottest first, in words."""
    shown = hot[(hot["class"] != NOT_SIGNIFICANT) & among(hot["area"], keep)]
    shown = shown.sort_values(["z", "area"], ascending=[False, True])
    return pd.DataFrame(
        {
            "place": [names.get(a, a) for a in shown["area"]],
            "finding": [class_words(c) for c in shown["class"]],
            "shootings (12 months)": shown["count"].to_numpy(),
            "details": [
                f"Gi* z = {z:.2f}, p = {p:.4f}, p after FDR = {q:.4f}; area {a}"
                for z, p, q, a in zip(
                    shown["z"], shown["p"], shown["p_fdr"], shown["area"], strict=True
                )
            ],
        }
    )


def emerging_rows(trend: pd.DataFrame, names: Mapping[str, str], keep: set[str]) -> pd.DataFrame:
    """Areas of the team area with an emerging pattern, in words."""
    shown = trend[(trend["category"] != "no pattern") & among(trend["area"], keep)]
    order = {c: i for i, c in enumerate(EMERGING_WORDS)}
    shown = shown.assign(_o=shown["category"].map(order)).sort_values(["_o", "area"])
    return pd.DataFrame(
        {
            "place": [names.get(a, a) for a in shown["area"]],
            "finding": [EMERGING_WORDS.get(c, c) for c in shown["category"]],
            "hot in (of 12 months)": shown["hot_slices"].to_numpy(),
            "shootings (12 months)": shown["total"].to_numpy(),
            "details": [
                f"Mann-Kendall trend of Gi* z: z = {z:.2f}, p = {p:.4f}; area {a}"
                for z, p, a in zip(shown["trend_z"], shown["trend_p"], shown["area"], strict=True)
            ],
        }
    )


def emerging_counts(trend: pd.DataFrame, keep: set[str]) -> pd.DataFrame:
    mine = trend[among(trend["area"], keep)]
    counts = mine["category"].value_counts().reindex(list(EMERGING_WORDS), fill_value=0)
    return pd.DataFrame(
        {"pattern": [EMERGING_WORDS[c] for c in counts.index], "areas": counts.to_numpy()}
    )


def map_link(lat: float, lon: float) -> str:
    """An OpenStreetMap link centred on a point: built from two numbers only."""
    if lat != lat or lon != lon:  # NaN: no published location
        return ""
    return (
        f"https://www.openstreetmap.org/?mlat={float(lat):.5f}&mlon={float(lon):.5f}"
        f"#map={MAP_ZOOM}/{float(lat):.5f}/{float(lon):.5f}"
    )


def window_rows(windows: pd.DataFrame) -> pd.DataFrame:
    """The open windows for people: soonest closing first."""
    ordered = windows.sort_values(["days_left", "occurred_at"], kind="stable")
    return pd.DataFrame(
        {
            "case": ordered["case_number"].astype("string"),
            "date and time": pd.to_datetime(ordered["occurred_at"]).dt.strftime("%a %d %b %H:%M"),
            "block": ordered["block"].astype("string"),
            "beat": ordered["beat"].astype("string"),
            "community area": ordered["community_area"].astype("string").str.title().fillna(""),
            "victims": ordered["victims"].astype(int).to_numpy(),
            "killed": ordered["killed"].astype(int).to_numpy(),
            "days left": ordered["days_left"].astype(int).to_numpy(),
            "follow-up shootings so far": ordered["followups"].astype(int).to_numpy(),
            "map": [
                map_link(a, b)
                for a, b in zip(ordered["latitude"], ordered["longitude"], strict=True)
            ],
        }
    )


def window_cards(rows: pd.DataFrame) -> str:
    """The same rows as HTML cards for a phone: every value escaped."""
    cards = []
    for r in rows.to_dict("records"):
        link = (
            f'<a href="{html.escape(r["map"], quote=True)}" target="_blank" rel="noopener">map</a>'
            if r["map"]
            else ""
        )
        cards.append(
            '<div class="window-card">'
            f"<b>{in_html(r['block'])}</b> &middot; {_days(r['days left'])} left<br/>"
            f"{in_html(r['date and time'])} &middot; case {in_html(r['case'])}<br/>"
            f"beat {in_html(r['beat'])}, {in_html(r['community area'])}<br/>"
            f"{r['victims']} shot, {r['killed']} killed &middot; "
            f"{_followups(r['follow-up shootings so far'])} so far {link}"
            "</div>"
        )
    return "".join(cards)


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def _followups(n: int) -> str:
    return f"{n} follow-up shooting{'s' if n != 1 else ''}"
