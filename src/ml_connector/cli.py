"""Command-line entry points. Each command parses its arguments and calls into the packages; no logic here."""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer._click.exceptions import UsageError  # typer vendors click; its errors live here

from ml_connector import __version__
from ml_connector.app import App, open_app
from ml_connector.checks import Check
from ml_connector.config import ConfigError, config_path, load_settings
from ml_connector.http.errors import RemoteError
from ml_connector.logs import configure as configure_logging
from ml_connector.secrets import redactor
from ml_connector.store import migrate
from ml_connector.store.connections import (
    NotFoundError,
    add_connection,
    credential_names,
    get_connection,
    list_connections,
    remove_connection,
)
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.store.rotation import rotate_keys
from ml_connector.vault import VaultError

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

app = typer.Typer(
    name="ml-connector",
    help="Keeps Exact Online in agreement with WooCommerce and Adobe Commerce stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
connections_app = typer.Typer(
    help="Manage connections to Exact, WooCommerce and Adobe Commerce.", no_args_is_help=True
)
keys_app = typer.Typer(help="Manage the keys that encrypt stored credentials.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the state database.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Serve a local sandbox of a foreign system (tests, demo, trying things out).")
app.add_typer(connections_app, name="connections")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(sandbox_app, name="sandbox")

_state: dict[str, Any] = {"config": None}

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


def _version(value: bool) -> None:
    if value:
        out.print(f"ml-connector {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: $ML_CONNECTOR_CONFIG or data dir).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    _state["config"] = config


@contextmanager
def opened(as_json: bool = False) -> Iterator[App]:
    """Open the app; one-time notices (a new key file) go to stdout, or stderr when stdout carries JSON."""
    settings = load_settings(_state["config"])
    configure_logging(settings.log_level, settings.log_format)
    notices = err if as_json else out
    application = open_app(settings, announce=lambda msg: notices.print(msg))
    try:
        yield application
    finally:
        application.close()


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


def _load(module: str, attr: str) -> Callable[..., Any]:
    """Import a system package's entry point only when its command runs (keeps start-up fast)."""
    function: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return function


# --- init, db ---------------------------------------------------------------------------------------


_CONFIG_TEMPLATE = """\
# ml-connector settings. Every key can also be set as ML_CONNECTOR_<KEY> in the environment.
# data_dir = "{data_dir}"
# database_url = "postgresql+psycopg://user@host/db"   # default: SQLite file in the data dir
# secret_key_file = "{data_dir}/secret.key"             # or ML_CONNECTOR_SECRET_KEY in the environment
log_level = "INFO"
log_format = "console"   # or "json"
web_host = "127.0.0.1"
web_port = 8080
# public_url = "https://connector.example.com"          # where shops and Exact reach the web app
"""


@app.command()
def init() -> None:
    """Create the data dir, a config file, the secret key file and the database."""
    path = config_path(_state["config"])
    settings = load_settings(_state["config"])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_CONFIG_TEMPLATE.format(data_dir=settings.data_dir))
        out.print(f"Wrote config file {path}")
    with opened() as application:
        out.print(f"Database ready at {application.db.engine.url.render_as_string(hide_password=True)}")
        out.print(f"Credentials are encrypted with key id {application.vault.primary_key_id}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (also done automatically on start)."""
    with opened() as application:
        migrate.upgrade(application.db)
        out.print(f"Database at revision {migrate.current_revision(application.db)}")


# --- connections ------------------------------------------------------------------------------------


class Kind(StrEnum):
    exact = "exact"
    woocommerce = "woocommerce"
    adobe_commerce = "adobe-commerce"

    @property
    def stored(self) -> ConnectionKind:
        return ConnectionKind(self.value.replace("-", "_"))


def _parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not key or not sep:
            raise typer.BadParameter(f"expected KEY=VALUE, got '{pair}'", param_hint=what)
        parsed[key.strip()] = value
    return parsed


def _read_credentials(names: list[str]) -> dict[str, str]:
    """NAME=VALUE as given, or NAME alone: read from ML_CONNECTOR_CREDENTIAL_<NAME> or a hidden prompt."""
    import os

    values: dict[str, str] = {}
    for item in names:
        name, sep, value = item.partition("=")
        if not sep:
            value = os.environ.get(f"ML_CONNECTOR_CREDENTIAL_{name.upper()}") or typer.prompt(
                f"{name}", hide_input=True
            )
        if not name or not value:
            raise typer.BadParameter(f"credential '{name}' is empty", param_hint="--credential")
        values[name] = value
    return values


def _connection_dict(session: Any, conn: Connection) -> dict[str, Any]:
    return {
        "name": conn.name,
        "kind": conn.kind.value,
        "base_url": conn.base_url,
        "region": conn.region,
        "division": conn.division,
        "store_code": conn.store_code,
        "status": conn.status.value,
        "status_reason": conn.status_reason,
        "settings": conn.settings,
        "credentials": credential_names(session, conn),
    }


@connections_app.command("add")
def connections_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. 'shop' or 'exact-nl'.")],
    kind: Annotated[Kind, typer.Option(help="Which system this connection reaches.")],
    base_url: Annotated[str | None, typer.Option(help="Store URL, or an explicit Exact base URL.")] = None,
    region: Annotated[str | None, typer.Option(help="Exact region: NL BE UK DE FR ES US.")] = None,
    division: Annotated[
        int | None, typer.Option(help="Exact division (default: discovered on authorize).")
    ] = None,
    store_code: Annotated[str | None, typer.Option(help="Adobe Commerce store code.")] = None,
    setting: Annotated[list[str] | None, typer.Option(help="KEY=VALUE option, repeatable.")] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME[=VALUE], repeatable; without a value it is read from "
            "ML_CONNECTOR_CREDENTIAL_<NAME> or prompted for (hidden)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a connection; credentials are stored encrypted."""
    if region is not None and region.upper() not in {"NL", "BE", "UK", "DE", "FR", "ES", "US"}:
        raise typer.BadParameter(
            f"unknown Exact region '{region}' (NL BE UK DE FR ES US)", param_hint="--region"
        )
    settings = _parse_pairs(setting or [], "--setting")
    secrets = _read_credentials(credential or [])
    with opened(as_json) as application, application.db.session() as session:
        conn = add_connection(
            session,
            application.vault,
            name=name,
            kind=kind.stored,
            credentials=secrets,
            base_url=base_url,
            region=region.upper() if region else None,
            division=division,
            store_code=store_code,
            settings=settings,
        )
        data = _connection_dict(session, conn)
    if as_json:
        _print_json(data)
    else:
        out.print(f"Added {kind.value} connection '{name}' ({len(secrets)} credential(s) stored encrypted)")


@connections_app.command("list")
def connections_list(as_json: JsonOption = False) -> None:
    """List connections and their status."""
    with opened(as_json) as application, application.db.session() as session:
        rows = [_connection_dict(session, c) for c in list_connections(session)]
    if as_json:
        _print_json(rows)
        return
    table = Table("name", "kind", "status", "base url / region", "division / store")
    for row in rows:
        where = row["base_url"] or row["region"] or ""
        scope = str(row["division"] or row["store_code"] or "")
        table.add_row(row["name"], row["kind"], row["status"], where, scope)
    out.print(table if rows else "No connections yet: add one with `ml-connector connections add`.")


@connections_app.command("show")
def connections_show(name: str, as_json: JsonOption = False) -> None:
    """Show one connection (credential names only, never their values)."""
    with opened(as_json) as application, application.db.session() as session:
        data = _connection_dict(session, get_connection(session, name))
    if as_json:
        _print_json(data)
        return
    for key, value in data.items():
        out.print(f"[bold]{key}[/bold]: {value}")


@connections_app.command("remove")
def connections_remove(
    name: str, yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False
) -> None:
    """Remove a connection with its credentials and sync state."""
    if not yes:
        typer.confirm(f"Remove connection '{name}' with its credentials and sync state?", abort=True)
    with opened() as application, application.db.session() as session:
        remove_connection(session, name)
    out.print(f"Removed connection '{name}'")


@connections_app.command("authorize")
def connections_authorize(
    name: str,
    division: Annotated[
        int | None, typer.Option(help="Use this division instead of the current one.")
    ] = None,
    code: Annotated[
        str | None, typer.Option(help="The redirect URL (or bare code) Exact sent the browser to.")
    ] = None,
    listen: Annotated[bool, typer.Option(help="Catch the redirect on a loopback redirect URI.")] = False,
) -> None:
    """Authorize an Exact Online connection (OAuth 2.0 authorization code)."""
    run_authorize = _load("ml_connector.exact.authorize", "run_authorize")
    with opened() as application:
        chosen = run_authorize(
            application, name, division=division, pasted=code, listen=listen, echo=out.print
        )
    out.print(f"Connection '{name}' authorized for division {chosen}")


# --- keys -------------------------------------------------------------------------------------------


@keys_app.command("rotate")
def keys_rotate(
    retire_old: Annotated[
        bool, typer.Option(help="Drop the old keys from the key file once everything is re-encrypted.")
    ] = False,
) -> None:
    """Add a new key and re-encrypt every stored credential in one transaction."""
    with opened() as application:
        result = rotate_keys(application.db, application.vault, retire_old=retire_old)
    out.print(f"Re-encrypted {result.reencrypted} value(s) with key id {result.new_key_id}")
    if result.retired_keys:
        out.print(f"Dropped {result.retired_keys} old key(s) from the key file")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new key for ML_CONNECTOR_SECRET_KEY (put it first, keep the old ones after it)."""
    from cryptography.fernet import Fernet

    out.print(Fernet.generate_key().decode())


# --- ping, sandboxes --------------------------------------------------------------------------------


_PING = {
    ConnectionKind.EXACT: "ml_connector.exact.ping",
    ConnectionKind.WOOCOMMERCE: "ml_connector.woocommerce.ping",
    ConnectionKind.ADOBE_COMMERCE: "ml_connector.adobe_commerce.ping",
}


@app.command()
def ping(name: str, as_json: JsonOption = False) -> None:
    """Check a connection end to end; one line per check, with the fix when one fails."""
    with opened(as_json) as application:
        with application.db.session() as session:
            conn = get_connection(session, name)
        checks: list[Check] = _load(_PING[conn.kind], "run_checks")(application, conn)
        if all(c.ok for c in checks):  # the sync set-up is checked once the connection itself works
            checks += _load("ml_connector.pipelines.checks", "sync_checks")(application, conn)
    if as_json:
        _print_json([c.__dict__ for c in checks])
    else:
        for check in checks:
            mark = "[green]ok  [/green]" if check.ok else "[red]FAIL[/red]"
            line = f"{mark} {check.name}: {check.detail}"
            out.print(line if check.ok or not check.fix else f"{line}\n     fix: {check.fix}")
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


PortOption = Annotated[int, typer.Option(help="Port on 127.0.0.1.")]
SeedOption = Annotated[int, typer.Option(help="Seed for deterministic data.")]


@sandbox_app.command("exact")
def sandbox_exact(
    port: PortOption = 8801,
    seed: SeedOption = 0,
    rate_limits: Annotated[bool, typer.Option(help="Enforce Exact's rate limits (headers and 429s).")] = True,
    minutely_limit: Annotated[int, typer.Option(help="Calls per minute and division.", min=1)] = 60,
) -> None:
    """Serve the Exact Online sandbox."""
    serve = _load("ml_connector.exact.sandbox", "serve")
    serve(port=port, seed=seed, rate_limits=rate_limits, minutely_limit=minutely_limit)


@sandbox_app.command("woocommerce")
def sandbox_woocommerce(
    port: PortOption = 8802,
    seed: SeedOption = 0,
    orders: Annotated[int, typer.Option(help="How many orders to seed.")] = 50,
) -> None:
    """Serve the WooCommerce sandbox."""
    _load("ml_connector.woocommerce.sandbox", "serve")(port=port, seed=seed, orders=orders)


@sandbox_app.command("adobe-commerce")
def sandbox_adobe(
    port: PortOption = 8803,
    seed: SeedOption = 0,
    mode: Annotated[str, typer.Option(help="paas or saas.")] = "paas",
) -> None:
    """Serve the Adobe Commerce sandbox."""
    if mode not in {"paas", "saas"}:
        raise typer.BadParameter("expected paas or saas", param_hint="--mode")
    _load("ml_connector.adobe_commerce.sandbox", "serve")(port=port, seed=seed, mode=mode)


# --- sync, audit, failures, runtime ----------------------------------------------------------------


failed_app = typer.Typer(help="Records that could not be written (failed or given up).", no_args_is_help=True)
masterdata_app = typer.Typer(help="The local copy of Exact master data.", no_args_is_help=True)
app.add_typer(failed_app, name="failed")
app.add_typer(masterdata_app, name="masterdata")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a date or time (use 2026-10-01 or 2026-10-01T12:00:00Z)", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def sync(
    name: str,
    once: Annotated[
        bool, typer.Option("--once/--watch", help="One pass and exit, or a pass every --every seconds.")
    ] = True,
    every: Annotated[float, typer.Option(help="Seconds between passes with --watch.", min=1)] = 60.0,
    since: Annotated[str | None, typer.Option(help="Read records changed since this moment (UTC).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Sync one connection now: read what changed, write it, report (a Rich progress bar while it runs)."""
    sync_once = _load("ml_connector.runtime.commands", "sync_once")
    with opened(as_json) as application:
        _load("ml_connector.runtime.heap", "freeze_start_up")()
        while True:
            report = sync_once(application, name, _since(since), progress=not as_json)
            if as_json:
                _print_json(report.__dict__)
            else:
                out.print(
                    f"{name}: {report.seen} read, {report.new} new, {report.processed} processed; "
                    f"states {report.states}"
                )
                for line in report.failed:
                    out.print(f"[red]failed[/red] {line}")
            if once:
                break
            since = None  # later passes continue from the stored cursors
            time.sleep(every)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def audit(
    record: Annotated[
        str, typer.Argument(help="<connection>:<type>:<id> (e.g. shop:order:1042) or a ledger id.")
    ],
    as_json: JsonOption = False,
) -> None:
    """The full timeline of one record: fetched, mapped, each attempt, lookups, replays."""
    render = _load("ml_connector.engine.audit", "render_timeline")
    with opened(as_json) as application:
        out.print(render(application, record, as_json), markup=False, highlight=False)


@failed_app.command("list")
def failed_list(
    connection: Annotated[str | None, typer.Option(help="Only this source connection.")] = None,
    reason: Annotated[str | None, typer.Option(help="Only errors containing this text.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List parked records with their reason."""
    list_failed = _load("ml_connector.engine.replay", "list_failed")
    with opened(as_json) as application:
        rows = list_failed(application, connection, reason)
    if as_json:
        _print_json([row.__dict__ for row in rows])
        return
    table = Table("record", "entity", "state", "attempts", "reason")
    for row in rows:
        table.add_row(row.record, row.entity, row.state, str(row.attempts), row.last_error or "")
    out.print(table if rows else "No failed records.")


@app.command()
def replay(
    record: Annotated[str | None, typer.Argument(help="<connection>:<type>:<id> or a ledger id.")] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Every parked record of --connection.")
    ] = False,
    connection: Annotated[str | None, typer.Option(help="With --all-failed: the source connection.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Write one record again (after the same verification step), or all failed records of a connection."""
    if all_failed == (record is not None):
        raise typer.BadParameter("give either a RECORD or --all-failed --connection NAME")
    if all_failed and not connection:
        raise typer.BadParameter("--all-failed needs --connection NAME")
    module = "ml_connector.engine.replay"
    with opened(as_json) as application:
        if record is not None:
            results = _load(module, "replay_one")(application, record)
        else:
            results = _load(module, "replay_all_failed")(application, connection)
    if as_json:
        _print_json([r.__dict__ for r in results])
    else:
        for r in results:
            out.print(f"{r.record} (ledger {r.ledger_id}): {r.state} {r.target_id or r.last_error or ''}")
    if any(r.state in ("failed", "dead") for r in results):
        raise typer.Exit(1)


@masterdata_app.command("refresh")
def masterdata_refresh(
    name: Annotated[str, typer.Argument(help="The Exact connection.")],
    full: Annotated[bool, typer.Option(help="Read everything again instead of what changed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Read Exact's GL accounts, cost centers and units, journals, VAT codes, payment conditions, items."""
    from ml_connector.exact.client import ExactClient
    from ml_connector.pipelines import masterdata

    with opened(as_json) as application:
        client = ExactClient.for_connection(application, name)
        try:
            with application.db.session() as session:
                conn_id = get_connection(session, name).id
            changed = masterdata.refresh(application.db, client, conn_id, full=full)
        finally:
            client.close()
    counts = {entity: len(rows) for entity, rows in changed.items()}
    if as_json:
        _print_json(counts)
    else:
        for entity, count in counts.items():
            out.print(f"{entity}: {count} new or changed")


@app.command()
def run() -> None:
    """Scheduler, workers and web app in one process (the embedded default); stops cleanly on SIGTERM."""
    with opened() as application:
        _load("ml_connector.runtime.commands", "run")(application)


@app.command()
def worker() -> None:
    """Workers and scheduler only (run several, with a PostgreSQL database_url, to scale out)."""
    with opened() as application:
        _load("ml_connector.runtime.commands", "worker")(application)


@app.command()
def web() -> None:
    """The web app only: webhooks, the Exact OAuth callback, /healthz and /metrics."""
    with opened() as application:
        _load("ml_connector.runtime.commands", "web")(application)


# --- webhooks ---------------------------------------------------------------------------------------

webhooks_app = typer.Typer(
    help="Subscriptions of the shops and Exact to the connector's web app.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("ensure")
def webhooks_ensure(name: str) -> None:
    """Create, repair or re-activate the connection's webhook subscriptions (they point at public_url)."""
    with opened() as application:
        with application.db.session() as session:
            conn = get_connection(session, name)
        if not application.settings.public_url:
            raise UserError("set public_url (the address at which the shop and Exact reach this connector)")
        if conn.kind == ConnectionKind.WOOCOMMERCE:
            from ml_connector.woocommerce.webhooks import ensure_connection_webhooks

            result = ensure_connection_webhooks(application, conn)
            out.print(f"WooCommerce webhooks of '{name}': {result}")
        elif conn.kind == ConnectionKind.EXACT:
            from ml_connector.exact.client import ExactClient
            from ml_connector.exact.webhooks import subscribe

            client = ExactClient.for_connection(application, name)
            try:
                url = f"{application.settings.public_url.rstrip('/')}/webhooks/exact/{name}"
                subscription = subscribe(client, "Accounts", url)
            finally:
                client.close()
            out.print(f"Exact topic Accounts of '{name}' delivers to {subscription.CallbackURL}")
        else:
            raise UserError(
                "Adobe Commerce webhooks are declared in the store (webhooks.xml or the admin); point them "
                "at "
                f"{application.settings.public_url.rstrip('/')}/webhooks/adobe-commerce/{name}"
            )


# --- GL mapping (Adobe Commerce) -------------------------------------------------------------------

mapping_app = typer.Typer(help="The GL account / cost center mapping of a connection.", no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")


def _sync_target(session: Any, conn: Connection) -> Connection:
    target = ((conn.settings or {}).get("sync") or {}).get("target")
    if not target:
        raise UserError(
            f"connection '{conn.name}' has no sync target: set settings.sync.target to the Exact connection"
        )
    return get_connection(session, str(target))


@mapping_app.command("export")
def mapping_export(
    name: str, version: Annotated[int | None, typer.Option(help="An older version.")] = None
) -> None:
    """Print the current mapping (YAML) to stdout: edit it and `mapping import` it."""
    from ml_connector.pipelines.gl_mappings import load_mapping

    with opened(True) as application, application.db.session() as session:
        stored = load_mapping(session, application.vault, get_connection(session, name), version)
    sys.stdout.write(stored.text)


@mapping_app.command("import")
def mapping_import(
    name: str,
    path: Annotated[Path, typer.Argument(help="The YAML file.", exists=True, dir_okay=False)],
    comment: Annotated[str | None, typer.Option(help="Why it changed (kept with the version).")] = None,
    author: Annotated[str | None, typer.Option(help="Who changed it (default: the OS user).")] = None,
) -> None:
    """Validate a mapping against Exact's master data and store it as the next version (nothing on error)."""
    import getpass

    from ml_connector.flows.gl_mapping.problems import MappingInvalid
    from ml_connector.pipelines.gl_mappings import import_mapping, load_masterdata

    text = path.read_text()
    try:
        with opened() as application, application.db.session() as session:
            conn = get_connection(session, name)
            masterdata = load_masterdata(session, _sync_target(session, conn).id)
            version = import_mapping(
                session,
                application.vault,
                conn,
                text,
                masterdata,
                author=author or getpass.getuser(),
                comment=comment,
            )
    except MappingInvalid as exc:
        err.print(f"[red]error:[/red] {path}: mapping rejected, nothing applied")
        for problem in exc.problems:
            err.print(f"  {path}:{problem.line or '?'}: {problem.message}", markup=False)
        raise typer.Exit(1) from None
    out.print(f"Stored mapping version {version.version} for '{name}'")


@mapping_app.command("explain")
def mapping_explain(
    name: str,
    order: Annotated[str, typer.Option("--order", help="The order's increment id, e.g. 100000123.")],
) -> None:
    """Which rule sends each line of an order to which GL account and cost center, and why."""
    explain = _load("ml_connector.pipelines.adobe_explain", "explain_adobe_order")
    with opened() as application:
        out.print(explain(application, name, order), markup=False, highlight=False)


@mapping_app.command("history")
def mapping_history_command(name: str, as_json: JsonOption = False) -> None:
    """Every stored version with its time and author."""
    from ml_connector.pipelines.gl_mappings import mapping_history

    with opened(as_json) as application, application.db.session() as session:
        versions = mapping_history(session, get_connection(session, name))
    if as_json:
        _print_json([v.__dict__ for v in versions])
        return
    for v in versions:
        out.print(f"v{v.version}  {v.created_at:%Y-%m-%d %H:%M} UTC  {v.author}  {v.comment or ''}")


# --- demo, reconcile -------------------------------------------------------------------------------


class DemoFlow(StrEnum):
    all = "all"
    woocommerce = "woocommerce"
    adobe_commerce = "adobe-commerce"


@app.command()
def demo(
    flow: Annotated[DemoFlow, typer.Option(help="Which flow to run end to end.")] = DemoFlow.all,
    as_json: JsonOption = False,
) -> None:
    """Run the product end to end on local sandboxes (fresh SQLite data dir) and print a summary."""
    from ml_connector.demo.run import run_demo, summary_table

    configure_logging("WARNING", "console")
    results = run_demo(flow.value, err if as_json else out)
    if as_json:
        _print_json(results)
    else:
        out.print(summary_table(results))
    if not results["ok"]:
        raise typer.Exit(1)


@app.command()
def reconcile(
    name: Annotated[str, typer.Argument(help="The shop connection.")],
    period: Annotated[str, typer.Option(help="A month (2026-10), a day (2026-10-05) or a range (a..b).")],
    csv: Annotated[
        Path | None, typer.Option(help="Also write the findings as CSV for the accountant.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare a period's orders and refunds with Exact's invoices and credit notes (exit 0: all agree)."""
    module = "ml_connector.pipelines.reconcile"
    with opened(as_json) as application:
        report = _load(module, "run_reconcile")(application, name, period)
    if csv is not None:
        csv.write_text(report.to_csv())
    if as_json:
        out.print(report.to_json(), markup=False, highlight=False)
    else:
        out.print(_load(module, "render_report")(report))
    if not report.ok:
        raise typer.Exit(1)


# --- entry point ------------------------------------------------------------------------------------


def _fail(message: str, code: int) -> None:
    err.print(f"[red]error:[/red] {redactor.redact(message)}", soft_wrap=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every failure is one line on stderr (exit 2: bad arguments or config, 1: failure)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="ml-connector", standalone_mode=False)
    except UsageError as exc:
        message = exc.format_message().replace("\n", " ")
        if message:  # an empty message follows the help text shown for a bare command group
            _fail(message, 2)
        sys.exit(2)
    except typer.Abort:
        _fail("aborted", 1)
    except (ConfigError, VaultError) as exc:
        _fail(str(exc), 2)
    except (NotFoundError, UserError, ValueError, LookupError, RemoteError) as exc:
        _fail(str(exc), 1)
    else:
        sys.exit(result if isinstance(result, int) else 0)
