"""Keyset paging for SODA 2.x, kept apart from the network so it can be tested alone.

Socrata returns rows in no stable order unless `$order` is given, and `$offset`
paging is not stable under change either: a row deleted or updated while a
read is under way shifts every later row by one, so a row is skipped and
another read twice. Pages here are cut by the last key seen instead (keyset
paging): a full read asks for `:id > '<last :id>'` in `:id` order, an
incremental one for `(:updated_at, :id)` after the last pair, in that order.
A row updated during an incremental read moves past the cursor and is read
again later; a row deleted during a full read shifts nothing.

Evidence that the portal accepts this: Socrata's documentation of system
fields (dev.socrata.com/docs/system-fields) says `:updated_at` is a fixed
timestamp usable in `$where`; `$where=:id > '<last>'` with `$order=:id` is
keyset paging that public Socrata clients report verified live on
data.cityofchicago.org and other portals. `:id` order is the server's own, not
Python's string order, so the cursor is always the last `:id` of the previous
page verbatim, never a max() computed here.

A page shorter than `$limit` is not proof of the end (a server may cap
`$limit` lower than asked): the read goes on until a page comes back empty, or
until a short page brings the total to the count the portal gave before the
read. The total is then reconciled with the portal's count by the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_PAGE_SIZE = 50_000  # Socrata's hard cap on $limit


def even_page_size(expected: int | None, limit: int = MAX_PAGE_SIZE) -> int:
    """A page size for reading `expected` rows in few pages of at most `limit`, filled
    evenly: 60,496 rows in pages of 30,249 + 30,247, not 50,000 + 10,496. A read types
    each page while the next downloads; a long first page and a short last one leave
    little download to hide that work behind. The last page comes out short, so the
    read ends without asking for an empty one."""
    if not expected or expected <= 0:
        return limit
    pages = -(-(expected + 1) // limit)
    return -(-(expected + 1) // pages)


def soql_text(value: str) -> str:
    """A SoQL string literal: single quotes doubled, as SoQL escapes them."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class KeysetPaginator:
    """State of a paged read: call `update_request` before and `update_state` after each page.

    `since` is an `:updated_at` watermark (None reads everything); `expected` is the
    portal's row count for the read, when known, so a short last page can end it.
    """

    limit: int = MAX_PAGE_SIZE
    since: str | None = None
    expected: int | None = None
    last_id: str | None = None
    last_updated: str | None = None
    fetched: int = 0
    has_more: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"page size was {self.limit} but must be in 1..{MAX_PAGE_SIZE}")

    @property
    def incremental(self) -> bool:
        return self.since is not None

    @property
    def order(self) -> str:
        return ":updated_at, :id" if self.incremental else ":id"

    @property
    def where(self) -> str | None:
        """The filter of the whole read (the watermark) and of this page (the cursor)."""
        clauses = []
        if self.since is not None:
            # `>=`, not `>`: rows stamped in the same second as the watermark but
            # published after the last read would otherwise be missed. Re-reading
            # the boundary rows is harmless because writes are upserts.
            clauses.append(f":updated_at >= {soql_text(self.since)}")
        if self.last_id is not None:
            clauses.append(self._after_cursor())
        return " AND ".join(clauses) or None

    def _after_cursor(self) -> str:
        last_id = soql_text(str(self.last_id))
        if not self.incremental:
            return f":id > {last_id}"
        stamp = soql_text(str(self.last_updated))
        return f"(:updated_at > {stamp} OR (:updated_at = {stamp} AND :id > {last_id}))"

    def update_request(self, params: dict[str, object]) -> dict[str, object]:
        """Return `params` plus this page's `$limit`, `$order` and `$where`."""
        page = dict(params, limit=self.limit, order=self.order)
        if self.where is not None:
            page["where"] = self.where
        return page

    def update_state(self, rows: list[dict[str, Any]]) -> None:
        """Move the cursor past a page. The read ends on an empty page, or on a short
        page that brings the total to the expected count."""
        self.fetched += len(rows)
        if rows:
            last = rows[-1]
            self.last_id = _system_field(last, ":id")
            if self.incremental:
                self.last_updated = _system_field(last, ":updated_at")
        reached = self.expected is not None and self.fetched >= self.expected
        self.has_more = len(rows) == self.limit or (bool(rows) and not reached)


def _system_field(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"a row came without the system field {name!r} (received keys "
            f"{sorted(row)[:8]}...); keyset paging needs it: ask with "
            "$$exclude_system_fields=false"
        )
    return value
