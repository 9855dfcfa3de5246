"""``weixi serve`` (API + console on one port) and ``weixi users`` (logins, roles, API tokens, demo logins)."""

from __future__ import annotations

import gc
import os
import secrets
import sys
from typing import Optional

import typer
from rich.table import Table

from weixi import settings
from weixi.cli.app import app
from weixi.cli.close import DATA, data_dir
from weixi.cli.ledger import DB, JSON, open_engine
from weixi.cli.output import console, emit_json
from weixi.errors import NotFound
from weixi.names import display

GRACEFUL_SHUTDOWN_SECONDS = 2  # on SIGTERM: requests still running after this are cancelled
users_app = typer.Typer(help="Logins, roles and API tokens for the API and console.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port."),
    db: Optional[str] = DB,
    data: Optional[str] = DATA,
    insecure_cookies: bool = typer.Option(
        False, "--insecure-cookies", help="Session cookies without the Secure flag (plain http beyond localhost)."
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log", help="Log every request."),
    workers: int = typer.Option(
        1, "--workers", min=1, max=32, help="Server processes; each has its own writer (SQLite serialises them)."
    ),
    writer: str = typer.Option(
        "process", "--writer", help="Where ledger writes are batched: process (own process) or thread."
    ),
    trusted_proxies: str = typer.Option(
        "",
        "--trusted-proxies",
        envvar=settings.TRUSTED_PROXIES.name,
        help="Comma-separated proxy addresses (or networks) whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; default none.",
    ),
) -> None:
    """Serve the REST API (/api, /docs) and the console on one port, on the embedded database by default."""
    import uvicorn

    from weixi.adapters import schema
    from weixi.adapters.db import database_url, make_engine
    from weixi.api.app import SWITCH_INTERVAL, create_app

    # Browsers send Secure cookies to http://127.0.0.1 and localhost, so Secure stays on for local use.
    secure = not insecure_cookies
    url, data_path = database_url(db), str(data_dir(data))
    os.environ["WEIXI_DATA"] = data_path
    sys.setswitchinterval(SWITCH_INTERVAL)
    console.print(f"Weixi serving http://{host}:{port}/  (API docs http://{host}:{port}/docs)", highlight=False)
    if writer not in ("process", "thread"):
        raise typer.BadParameter("use process or thread", param_hint="--writer")
    proxies = proxy_options(trusted_proxies)
    if workers == 1:
        served = create_app(url, data_path, secure_cookies=secure, writer=writer)
        gc.freeze()  # the app's long-lived objects leave the collector's generations: shorter pauses under load
        run_app(served, host=host, port=port, log_level=log_level, access_log=access_log, **proxies)
        return
    engine = make_engine(url)  # migrate and recover close jobs once, before the workers start
    schema.upgrade(engine)
    from weixi.close.jobs import fail_interrupted

    fail_interrupted(engine)
    engine.dispose()
    os.environ.update(
        {
            "WEIXI_DB": url,
            "WEIXI_SECURE_COOKIES": "1" if secure else "0",
            "WEIXI_WRITER": writer,
            "WEIXI_CSRF_SECRET": secrets.token_hex(32),
        }
    )  # one login-form key for all the workers
    uvicorn.run(
        "weixi.api.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **proxies,
    )


def run_app(served, **options) -> None:
    """``uvicorn.run`` for one app, whose shutdown (SIGTERM, Ctrl-C) first answers every request still waiting
    for the ledger writer (503 ``writer_unavailable``: retry with the same ids) and stops the writer, then gives
    the other requests ``GRACEFUL_SHUTDOWN_SECONDS`` to finish: the server is gone within a few seconds however
    many requests are pending."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None):
            served.state.committer.close()
            await super().shutdown(sockets)

    server = Server(uvicorn.Config(served, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS, **options))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started:
        sys.exit(3)  # as uvicorn.run: the server could not start (port in use, ...)


def proxy_options(trusted_proxies: str) -> dict:
    """uvicorn's proxy settings: the client address (login rate limit, audit) and scheme come from
    ``X-Forwarded-For`` / ``X-Forwarded-Proto`` only when the connecting peer is one of ``trusted_proxies``;
    with none (the default) they are the peer's own, whatever the headers say."""
    hosts = [h.strip() for h in trusted_proxies.split(",") if h.strip()]
    return {"proxy_headers": True, "forwarded_allow_ips": hosts} if hosts else {"proxy_headers": False}


STAFF_ID_HELP = (
    "Who the login is on the staff roster (weixi staff load): its statements, its work queue and its approval"
    " steps are this staff id's. Default: the username is the staff id."
)


@users_app.command("create")
def create(
    username: str,
    role: str = typer.Option(..., "--role", help="admin, analyst, manager, agent, clerk or member."),
    member_id: Optional[str] = typer.Option(None, "--member-id", help="For role member: whose points it sees."),
    staff_id: Optional[str] = typer.Option(None, "--staff-id", help=STAFF_ID_HELP),
    password: Optional[str] = typer.Option(
        None, "--password", envvar=settings.PASSWORD.name, help="Password (default: prompt; or $WEIXI_PASSWORD)."
    ),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Create a login with a role."""
    from weixi.users import service as users

    engine = open_engine(db, as_json)
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    user = users.create_user(engine, username, password, role, member_id, staff_id)
    users.audit(
        engine, None, "user.create", user.username, {"role": user.role, "staff_id": user.staff_id, "via": "cli"}
    )
    data = {"username": user.username, "role": user.role, "member_id": user.member_id, "staff_id": user.staff_id}
    emit_json(data) if as_json else console.print(f"created {user.username} ({user.role})", highlight=False)


@users_app.command("list")
def list_users(db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Every login, its role and whether it is active."""
    from weixi.users import service as users

    rows = users.list_users(open_engine(db, as_json))
    if as_json:
        keys = ("username", "role", "member_id", "staff_id", "active")
        emit_json([{k: getattr(u, k) for k in keys} for u in rows])
        return
    table = Table("username", "role", "member", "staff id", "active")
    for u in rows:
        role = f"{u.role} ({display('role', u.role, 'zh_CN')})"
        table.add_row(u.username, role, u.member_id or "", u.staff_id or "", "yes" if u.active else "no")
    console.print(table)


@users_app.command("edit")
def edit(
    username: str,
    staff_id: str = typer.Option(..., "--staff-id", help=STAFF_ID_HELP + " An empty value unlinks it."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Change a login's staff id (checked against the staff roster; one login per staff id)."""
    from weixi.users import service as users

    engine = open_engine(db, as_json)
    user = users.set_staff_id(engine, username, staff_id)
    users.audit(engine, None, "user.staff_id", username, {"staff_id": user.staff_id, "via": "cli"})
    data = {"username": username, "staff_id": user.staff_id, "acts_as": user.staff}
    emit_json(data) if as_json else console.print(f"{username} acts as staff {user.staff}", highlight=False)


@users_app.command("token")
def token(
    username: str,
    name: Optional[str] = typer.Option(None, "--name", help="What the token is for."),
    revoke: Optional[str] = typer.Option(None, "--revoke", help="Revoke this token instead of issuing one."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Issue an API token for a user (printed once; send it as 'Authorization: Bearer TOKEN'), or --revoke one."""
    from weixi.users import service as users

    engine = open_engine(db, as_json)
    user = users.get_user(engine, username)
    if user is None:
        raise users.UnknownUser("unknown_user", username=username)
    if revoke:
        if not users.revoke_token(engine, revoke):
            raise NotFound("token_not_found")
        users.audit(engine, None, "token.revoke", username, {"via": "cli"})
        emit_json({"revoked": True}) if as_json else console.print("token revoked")
        return
    value = users.issue_token(engine, user, name)
    users.audit(engine, None, "token.issue", username, {"name": name, "via": "cli"})
    emit_json({"username": username, "token": value}) if as_json else typer.echo(value)


@users_app.command("deactivate")
def deactivate(username: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Stop a login: its sessions end at once and its tokens stop working."""
    from weixi.users import service as users

    engine = open_engine(db, as_json)
    users.set_active(engine, username, False)
    users.audit(engine, None, "user.deactivate", username, {"via": "cli"})
    emit_json({"username": username, "active": False}) if as_json else console.print(f"{username} deactivated")


@users_app.command("demo")
def demo(
    member_id: str = typer.Option("M0000000002", "--member-id", help="The member the 'member' login sees."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Create one demo login per role (password weixi-demo); safe to run again. For demos only."""
    from weixi.users import service as users

    rows = users.ensure_demo_users(open_engine(db, as_json), member_id)
    if as_json:
        emit_json(rows)
        return
    table = Table("username", "password", "role", "member", title="demo logins")
    for r in rows:
        table.add_row(
            r["username"], r["password"], f"{r['role']} ({display('role', r['role'], 'zh_CN')})", r["member_id"] or ""
        )
    console.print(table)
