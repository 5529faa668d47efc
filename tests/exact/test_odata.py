"""OData literals, query options and Exact's /Date(ms)/ values."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from ml_connector.exact import odata
from ml_connector.exact.paging import EnvelopeError, parse_page, parse_single


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("O'Brien", "'O''Brien'"),
        ("x' or 1 eq 1 or 'a", "'x'' or 1 eq 1 or ''a'"),
        (uuid.UUID("5b7f4515-b7a0-4839-ac69-574968677d96"), "guid'5b7f4515-b7a0-4839-ac69-574968677d96'"),
        (odata.Guid("5B7F4515-B7A0-4839-AC69-574968677D96"), "guid'5b7f4515-b7a0-4839-ac69-574968677d96'"),
        (odata.Long(493115), "493115L"),
        (42, "42"),
        (True, "true"),
        (None, "null"),
        (date(2014, 1, 1), "datetime'2014-01-01'"),
        (datetime(2017, 5, 31, 0, 0), "datetime'2017-05-31T00:00:00'"),  # noqa: DTZ001 - naive is meant
        # Aware values are converted to Amsterdam wall-clock time (summer: UTC+2).
        (datetime(2017, 5, 31, 10, 0, tzinfo=UTC), "datetime'2017-05-31T12:00:00'"),
    ],
)
def test_literals(value, expected):
    assert odata.literal(value) == expected


def test_bad_guid_and_field_are_refused():
    with pytest.raises(ValueError, match="hexadecimal UUID"):
        odata.Guid("not-a-guid")
    with pytest.raises(ValueError, match="property name"):
        odata.eq("Name eq 'x' or ID", "y")
    with pytest.raises(ValueError, match="operator"):
        odata.compare("Name", "like", "y")


def test_query_params():
    query = odata.Query(
        filter=odata.all_of(
            odata.eq("YourRef", "WC-1"), odata.any_of(odata.eq("Status", 20), odata.eq("Status", 50))
        ),
        select=("InvoiceID", "YourRef"),
        orderby="Modified desc",
        top=5,
        skip=10,
        inlinecount=True,
    )
    assert query.params() == {
        "$filter": "YourRef eq 'WC-1' and ((Status eq 20) or (Status eq 50))",
        "$select": "InvoiceID,YourRef",
        "$orderby": "Modified desc",
        "$top": "5",
        "$skip": "10",
        "$inlinecount": "allpages",
    }


def test_exact_dates_are_amsterdam_wall_clock():
    # Summer (UTC+2) and winter (UTC+1): the same wall-clock encoding means different instants.
    assert odata.parse_date("/Date(1351209600000)/") == datetime(2012, 10, 25, 22, 0, tzinfo=UTC)
    assert odata.parse_date("/Date(1356998400000)/") == datetime(2012, 12, 31, 23, 0, tzinfo=UTC)
    assert odata.parse_datetime("2020-01-06T16:26:08.587") == datetime(
        2020, 1, 6, 15, 26, 8, 587000, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="not an Exact"):
        odata.parse_date("2012-10-26")


def test_envelopes():
    assert parse_page({"d": {"results": [{"a": 1}], "__next": "u", "__count": "7"}}).count == 7
    assert parse_page({"d": [{"a": 1}]}).rows == [{"a": 1}]
    assert parse_single({"d": {"a": 1}}) == {"a": 1}
    with pytest.raises(EnvelopeError):
        parse_page({"error": {}})
