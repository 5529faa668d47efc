"""IMS tokens under concurrency, on SQLite and PostgreSQL: many workers, one token call."""

from __future__ import annotations

import threading

from pydantic import SecretStr

from ml_connector.adobe_commerce.ims import ImsTokenSource
from ml_connector.adobe_commerce.sandbox import create_app
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.store.connections import add_connection
from ml_connector.store.db import Database
from ml_connector.store.models import ConnectionKind
from ml_connector.vault import Vault


def test_concurrent_workers_fetch_one_token(db: Database, vault: Vault):
    sandbox = create_app(mode="saas", orders=1)
    with ThreadedServer(sandbox.asgi) as server:
        info = sandbox.info(server.base_url)
        with db.session() as session:
            conn = add_connection(
                session, vault, name="saas", kind=ConnectionKind.ADOBE_COMMERCE, credentials={}
            )
            session.flush()
            conn_id = conn.id

        def source() -> ImsTokenSource:
            return ImsTokenSource(
                db,
                vault,
                conn_id,
                token_url=info["ims_token_url"],
                client_id=info["client_id"],
                client_secret=SecretStr(info["client_secret"]),
            )

        tokens: list[str] = []
        barrier = threading.Barrier(8)

        def worker() -> None:
            barrier.wait()
            tokens.append(source().token().get_secret_value())

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sandbox.api.ims.issued == 1
        assert len(set(tokens)) == 1 and len(tokens) == 8
        rejected = SecretStr(tokens[0])
        renewed = source().invalidate(rejected)
        assert renewed.get_secret_value() != tokens[0]
        assert (
            source().invalidate(rejected).get_secret_value() == renewed.get_secret_value()
        )  # no second call
        assert sandbox.api.ims.issued == 2
