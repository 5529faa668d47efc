from __future__ import annotations

from decimal import Decimal

import pytest

from ml_connector.flows.adobe_commerce import map_credit_memo, map_invoice, map_order
from ml_connector.flows.exact_documents import DraftLine
from ml_connector.flows.gl_mapping.totals import totals_per_gl_account, totals_per_gl_and_cost_center
from tests.flows.adobe_commerce.conftest import make_inputs
from tests.flows.adobe_commerce.data import scenario
from tests.flows.gl_mapping.data import MAPPING_YAML


@pytest.mark.parametrize("booking", ["sales_invoice", "sales_entry"])
def test_totals_per_gl_account_equal_the_independent_expectation(booking: str) -> None:
    generated = scenario(seed=8, orders=120)
    assert len(generated.invoices) > len(generated.orders)  # partial invoices are in the mix
    assert generated.credit_memos
    inputs = make_inputs(MAPPING_YAML.replace("booking: sales_invoice", f"booking: {booking}"))
    lines: list[DraftLine] = []
    for order in generated.orders:
        map_order(order, inputs)  # every order maps too (no GL on order lines)
    for invoice, order in generated.invoices:
        lines += map_invoice(invoice, order, inputs).lines
    for memo, order in generated.credit_memos:
        lines += map_credit_memo(memo, order, inputs).lines
    assert totals_per_gl_account(lines) == generated.expected
    by_cost_center = totals_per_gl_and_cost_center(lines)
    assert by_cost_center[("8010", "APPAREL")] == generated.expected["8010"]
    assert sum(by_cost_center.values(), Decimal(0)) == sum(generated.expected.values(), Decimal(0))
