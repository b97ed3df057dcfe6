"""CSV exports that a spreadsheet cannot run as formulas.

Every CSV the product writes goes through `safe_csv`. Text from the data
(blocks, location descriptions, case numbers, area names) could start with a
formula; OWASP's rule for CSV injection
(https://owasp.org/www-community/attacks/CSV_Injection) is to prefix any text
cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return with a
single quote, so the spreadsheet shows it as text. Numbers stay numbers: only
`str` values are touched, so a change of -3 is written as -3.
"""

from __future__ import annotations

import csv

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NOT_TEXT_KINDS = "biufcmM"  # bool, int, float, complex, timedelta, datetime


def neutralise(value: object) -> object:
    """`value` with a leading `'` if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every risky text cell and column name neutralised."""
    out = frame.rename(columns=neutralise)  # a copy: the input is never changed
    for i, dtype in enumerate(out.dtypes):
        if dtype.kind not in NOT_TEXT_KINDS:  # object, string, category
            out.isetitem(i, out.iloc[:, i].map(neutralise, na_action="ignore").array)
    return out


def safe_csv(frame: pd.DataFrame) -> str:
    """`frame` as CSV text (no index), safe to open in a spreadsheet."""
    safe = neutralised(frame)
    text = safe.to_csv(index=False)
    if "\r" in text:
        # Python 3.11's csv writer leaves a lone carriage return unquoted; readers then
        # split the row there, and text after it would open a new, unprotected cell.
        text = safe.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)
    return text
