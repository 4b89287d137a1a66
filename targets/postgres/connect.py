"""Connecting over the Postgres wire (PostgreSQL and RisingWave), without ever showing a password.

A DSN may carry a password (`postgresql://u:secret@h/db` or `password=secret`), and so may the
environment (PGPASSWORD). Everything flowc prints about a connection goes through `Secrets.redact`,
and DSNs are shown only as `display_dsn` (the DSN without its password).
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from flowc.compiler.diagnostics import Code, Diagnostic, FlowError

LOCAL_DSN = "host=127.0.0.1 port=5432 dbname=postgres"
MASK = "***"


@dataclass(frozen=True)
class Secrets:
    """Strings that must never be printed."""

    values: tuple[str, ...] = ()

    @staticmethod
    def of(dsn: str, extra: tuple[str, ...] = ()) -> Secrets:
        found: list[str] = list(extra)
        try:
            password = _conninfo(dsn).get("password")
        except FlowError:
            password = None
        if password:
            found.append(password)
        if os.environ.get("PGPASSWORD"):
            found.append(os.environ["PGPASSWORD"])
        # a password in a URI may be percent-encoded there but decoded in messages, or the reverse
        found += [urllib.parse.quote(v, safe="") for v in list(found)]
        return Secrets(tuple(sorted({v for v in found if v}, key=len, reverse=True)))

    def redact(self, text: str) -> str:
        for v in self.values:
            text = text.replace(v, MASK)
        return text

    def __add__(self, other: Secrets) -> Secrets:
        return Secrets(tuple(sorted(set(self.values) | set(other.values), key=len, reverse=True)))


def _conninfo(dsn: str) -> dict:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(dsn)
    except Exception:  # psycopg.ProgrammingError; its message may quote the DSN, so it is not shown
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, "cannot parse the connection string (DSN)", None,
                                   "write it as 'postgresql://user@host:port/dbname' or "
                                   "'host=... port=... dbname=... user=...'")) from None


def display_dsn(dsn: str) -> str:
    """The DSN as `key=value` pairs without the password (nor anything else secret-looking)."""
    info = _conninfo(dsn)
    shown = [f"{k}={v}" for k, v in info.items() if k not in ("password", "passfile", "sslpassword")]
    if "password" in info:
        shown.append(f"password={MASK}")
    return " ".join(shown) or "(libpq defaults)"


def resolve_dsn(dsn: str | None, env_var: str, default: str | None = LOCAL_DSN) -> str:
    """--dsn, else $env_var, else the default (the local server)."""
    value = dsn or os.environ.get(env_var) or default
    if not value:
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, "no database to connect to", None,
                                   f"pass --dsn DSN or set {env_var}"))
    return value


def connect(dsn: str, what: str = "PostgreSQL", autocommit: bool = False, connect_timeout: int = 10):
    """A psycopg connection, or a FlowError naming the server (password masked) and why it failed."""
    import psycopg

    secrets = Secrets.of(dsn)
    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=connect_timeout)
    except psycopg.Error as e:
        reason = secrets.redact(first_line(str(e)))
        raise FlowError(Diagnostic(Code.IO, f"cannot connect to {what} at {secrets.redact(display_dsn(dsn))}: "
                                            f"{reason}", None,
                                   "check --dsn (or FLOWC_PG_DSN / FLOWC_RISINGWAVE_DSN) and that the "
                                   "server is running")) from None


def first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else "unknown error"
