"""How a command prints a table: aligned text, CSV (through `safe_csv`) or JSON records."""

from __future__ import annotations

import pandas as pd

from pipeline.export import safe_csv


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return safe_csv(table).rstrip("\n")
    if fmt == "json":  # times as ISO 8601 text (Chicago local, as stored), not epoch numbers
        return table.to_json(orient="records", date_format="iso")
    return table.to_string(index=False)
