"""`mapping import|export|history` as a merchant runs them: validated against Exact's cached master data
with line numbers, nothing stored on error, every version kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ml_connector.app import open_app
from ml_connector.config import load_settings
from ml_connector.store.connections import add_connection
from ml_connector.store.models import CachedRecord, ConnectionKind
from tests.cli_runner import run_cli
from tests.flows.gl_mapping.data import MAPPING_YAML, exact_rows


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ML_CONNECTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ML_CONNECTOR_SECRET_KEY", Fernet.generate_key().decode())
    app = open_app(load_settings())
    with app.db.session() as session:
        books = add_connection(session, app.vault, name="books", kind=ConnectionKind.EXACT, credentials={})
        add_connection(
            session,
            app.vault,
            name="magento",
            kind=ConnectionKind.ADOBE_COMMERCE,
            credentials={},
            settings={"sync": {"target": "books"}},
        )
        books_id = books.id
    app.close()
    (tmp_path / "books_id").write_text(str(books_id))
    return tmp_path / "data"


def _cache_master_data(data_dir: Path) -> None:
    app = open_app(load_settings())
    books_id = int((data_dir.parent / "books_id").read_text())
    with app.db.session() as session:
        for index, (entity, row) in enumerate(exact_rows()):
            session.add(
                CachedRecord(
                    connection_id=books_id,
                    entity=entity,
                    remote_id=str(row.get("ID") or index),
                    code=str(row.get("Code") or "").strip() or None,
                    data=row,
                )
            )
    app.close()


def test_import_is_validated_stored_exported_and_versioned(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(MAPPING_YAML)

    refused = run_cli(capsys, "mapping", "import", "magento", str(path))  # nothing cached from Exact yet
    assert refused.code == 1
    assert "mapping rejected, nothing applied" in refused.err
    assert f"{path}:" in refused.err and "unknown" in refused.err.lower()
    assert run_cli(capsys, "mapping", "history", "magento", "--json").out.strip() == "[]"

    _cache_master_data(data_dir)
    stored = run_cli(
        capsys, "mapping", "import", "magento", str(path), "--comment", "first", "--author", "ann"
    )
    assert stored.code == 0, stored.err
    assert "version 1" in stored.out
    exported = run_cli(capsys, "mapping", "export", "magento")
    assert exported.code == 0 and "rules" in exported.out

    path.write_text(exported.out)
    assert run_cli(capsys, "mapping", "import", "magento", str(path), "--author", "bob").code == 0
    history = json.loads(run_cli(capsys, "mapping", "history", "magento", "--json").out)
    assert [(v["version"], v["author"]) for v in history] == [(2, "bob"), (1, "ann")]
