"""The application context every entry point opens: settings, database (migrated) and vault."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ml_connector.config import Settings, load_settings
from ml_connector.store import migrate
from ml_connector.store.db import Database
from ml_connector.vault import Vault


@dataclass
class App:
    settings: Settings
    db: Database
    vault: Vault

    def close(self) -> None:
        self.db.dispose()


def open_app(
    settings: Settings | None = None,
    *,
    config: str | Path | None = None,
    announce: Callable[[str], None] | None = None,
    upgrade: bool = True,
) -> App:
    settings = settings or load_settings(config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    if upgrade:
        migrate.ensure_current(db)
    vault = Vault.load(settings.secret_key, settings.effective_key_file, announce=announce)
    return App(settings=settings, db=db, vault=vault)
