from __future__ import annotations

import pytest
from sqlalchemy import select

from ml_connector.flows.gl_mapping import MappingInvalid, export_mapping
from ml_connector.flows.gl_mapping.masterdata import MASTERDATA_ENTITIES
from ml_connector.pipelines.gl_mappings import (
    MappingCache,
    MappingNotFound,
    import_mapping,
    load_mapping,
    load_masterdata,
    mapping_history,
)
from ml_connector.store.connections import add_connection
from ml_connector.store.db import Database
from ml_connector.store.models import CachedRecord, Connection, ConnectionKind, Mapping
from ml_connector.vault import Vault
from tests.flows.gl_mapping.data import MAPPING_YAML, exact_rows, masterdata


def make_connection(db: Database, vault: Vault, name: str = "shop") -> Connection:
    with db.session() as session:
        return add_connection(session, vault, name=name, kind=ConnectionKind.ADOBE_COMMERCE, credentials={})


def test_import_stores_versions_encrypted_with_author_and_history(db: Database, vault: Vault) -> None:
    conn = make_connection(db, vault)
    with db.session() as session:
        first = import_mapping(
            session, vault, conn, MAPPING_YAML, masterdata(), author="ann", comment="initial"
        )
    changed = MAPPING_YAML.replace('gl_account: "8010"', 'gl_account: "8000"')
    with db.session() as session:
        second = import_mapping(session, vault, conn, changed, masterdata(), author="bob")
    assert (first.version, second.version) == (1, 2)
    with db.session() as session:
        history = mapping_history(session, conn)
        assert [(v.version, v.author, v.comment) for v in history] == [
            (2, "bob", None),
            (1, "ann", "initial"),
        ]
        assert all(v.created_at.tzinfo is not None for v in history)
        current = load_mapping(session, vault, conn)
        assert current.version.version == 2
        assert current.doc.rules[0].gl_account == "8000"
        assert current.text == export_mapping(current.doc)
        assert load_mapping(session, vault, conn, version=1).doc.rules[0].gl_account == "8010"
        stored = session.scalars(select(Mapping.document_ciphertext)).all()
    # The chart of accounts is not readable in the database.
    assert all("8010" not in text and "hoodies" not in text for text in stored)


def test_invalid_import_stores_nothing(db: Database, vault: Vault) -> None:
    conn = make_connection(db, vault)
    bad = MAPPING_YAML.replace('gl_account: "8010"', 'gl_account: "9999"')
    with db.session() as session, pytest.raises(MappingInvalid) as caught:
        import_mapping(session, vault, conn, bad, masterdata(), author="ann")
    assert "unknown GL account '9999'" in str(caught.value)
    assert "nothing applied" in str(caught.value)
    with db.session() as session:
        assert mapping_history(session, conn) == []
        with pytest.raises(MappingNotFound, match=r"mapping import shop map\.yaml"):
            load_mapping(session, vault, conn)


def test_cache_reads_a_new_version_without_restart_and_reuses_an_unchanged_one(
    db: Database, vault: Vault
) -> None:
    conn = make_connection(db, vault)
    cache = MappingCache()
    with db.session() as session:
        import_mapping(session, vault, conn, MAPPING_YAML, masterdata(), author="ann")
    with db.session() as session:
        first = cache.current(session, vault, conn)
        assert cache.current(session, vault, conn) is first  # unchanged version: no decrypt, same object
    with db.session() as session:
        import_mapping(
            session, vault, conn, MAPPING_YAML.replace("APPAREL", "WEBB"), masterdata(), author="bob"
        )
    with db.session() as session:
        second = cache.current(session, vault, conn)
    assert second.version.version == 2
    assert second.doc.rules[0].cost_center == "WEBB"


def test_versions_are_per_connection(db: Database, vault: Vault) -> None:
    one, two = make_connection(db, vault, "one"), make_connection(db, vault, "two")
    with db.session() as session:
        import_mapping(session, vault, one, MAPPING_YAML, masterdata(), author="ann")
        import_mapping(session, vault, two, MAPPING_YAML, masterdata(), author="ann")
    with db.session() as session:
        assert [v.version for v in mapping_history(session, two)] == [1]


def test_masterdata_is_read_from_the_cache_of_the_exact_connection(db: Database, vault: Vault) -> None:
    exact = make_connection(db, vault, "exact")
    other = make_connection(db, vault, "other")
    with db.session() as session:
        for index, (entity, row) in enumerate(exact_rows()):
            session.add(
                CachedRecord(
                    connection_id=exact.id, entity=entity, remote_id=f"r{index}", code=row["Code"], data=row
                )
            )
        session.add(
            CachedRecord(
                connection_id=other.id, entity="GLAccounts", remote_id="x", code="7", data={"Code": "7"}
            )
        )
    with db.session() as session:
        md = load_masterdata(session, exact.id)
    assert md == masterdata()
    assert md.vat_codes["2"].percent == 21  # padded "2  " trimmed, fraction as percent
    assert "7" not in md.gl_accounts
    assert set(MASTERDATA_ENTITIES) >= {
        "GLAccounts",
        "CostCenters",
        "CostUnits",
        "VATCodes",
        "Journals",
        "Items",
    }
