"""How a command prints a table: aligned text, CSV (through `safe_csv`) or JSON records."""

from __future__ import annotations

import pandas as pd

from pipeline.export import safe_csv


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return safe_csv(table).rstrip("\n")
    if fmt == "json":
        return table.to_json(orient="records")
    return table.to_string(index=False)
