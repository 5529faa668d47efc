from ml_connector.flows.woocommerce.refs import ParsedRef, order_ref, parse_ref, ref_prefix, refund_ref


def test_references_are_deterministic_and_round_trip() -> None:
    assert order_ref("RW", 23) == "WC-RW-23"
    assert refund_ref("RW", 22, 24) == "WC-RW-22-R24"
    assert ref_prefix("RW") == "WC-RW-"
    assert parse_ref("WC-RW-23", "RW") == ParsedRef(23)
    assert parse_ref("WC-RW-22-R24", "RW") == ParsedRef(22, 24)


def test_foreign_references_are_not_ours() -> None:
    assert parse_ref("WC-RW2-23", "RW") is None
    assert parse_ref("WC-RW-23x", "RW") is None
    assert parse_ref("100000123", "RW") is None
