"""Offset paging for SODA 2.x, kept apart from the network so it can be tested alone.

Socrata returns rows in no stable order unless `$order` is given, so a paged
read without it can skip or repeat rows. Every request made here carries an
order on the system fields: `:id` for full reads, `:updated_at, :id` for
incremental ones (the watermark column first, `:id` to break ties).
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class OffsetPaginator:
    """State of a paged read: call `update_request` before and `update_state` after each page."""

    limit: int = MAX_PAGE_SIZE
    since: str | None = None  # :updated_at watermark; None reads everything
    offset: int = 0
    has_more: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"page size was {self.limit} but must be in 1..{MAX_PAGE_SIZE}")

    @property
    def order(self) -> str:
        return ":updated_at, :id" if self.since is not None else ":id"

    @property
    def where(self) -> str | None:
        # `>=`, not `>`: rows stamped in the same second as the watermark but
        # published after the last read would otherwise be missed. Re-reading
        # the boundary rows is harmless because writes are upserts.
        if self.since is None:
            return None
        return f":updated_at >= '{self.since}'"

    def update_request(self, params: dict[str, object]) -> dict[str, object]:
        """Return `params` plus this page's `$limit`, `$offset`, `$order` and `$where`."""
        page = dict(params, limit=self.limit, offset=self.offset, order=self.order)
        if self.where is not None:
            page["where"] = self.where
        return page

    def update_state(self, n_rows: int) -> None:
        """Advance past a page of `n_rows`; a short page is the last one."""
        self.offset += n_rows
        self.has_more = n_rows == self.limit
