import pytest

from pipeline.paging import MAX_PAGE_SIZE, OffsetPaginator


def test_full_read_orders_by_id_and_advances_offset() -> None:
    pages = OffsetPaginator(limit=3)
    assert pages.update_request({"x": 1}) == {"x": 1, "limit": 3, "offset": 0, "order": ":id"}
    pages.update_state(3)
    assert pages.has_more and pages.update_request({})["offset"] == 3
    pages.update_state(2)
    assert not pages.has_more and pages.offset == 5


def test_incremental_read_orders_by_watermark_then_id() -> None:
    request = OffsetPaginator(limit=10, since="2026-01-02T00:00:00.000Z").update_request({})
    assert request["order"] == ":updated_at, :id"
    assert request["where"] == ":updated_at >= '2026-01-02T00:00:00.000Z'"


def test_empty_page_ends_the_read() -> None:
    pages = OffsetPaginator(limit=5)
    pages.update_state(0)
    assert not pages.has_more


@pytest.mark.parametrize("limit", [0, MAX_PAGE_SIZE + 1], ids=["zero", "over-cap"])
def test_page_size_outside_socrata_cap_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match=r"page size was .* but must be in 1\.\.50000"):
        OffsetPaginator(limit=limit)
