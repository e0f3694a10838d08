"""make_engine's PostgreSQL link settings: keepalives and tcp_user_timeout reach the socket, so a
dead network breaks a connection in about 30 s; what the URL sets itself wins."""
from __future__ import annotations

import socket

import psycopg
import pytest
from pg_scratch import ScratchDatabases
from sqlalchemy import Engine

from custodywatch.store.db import PG_LINK_DEFAULTS, make_engine


def connection_of(engine: Engine) -> psycopg.Connection:
    raw = engine.raw_connection()
    conn = raw.dbapi_connection
    assert isinstance(conn, psycopg.Connection)
    raw.close()  # back to the pool, still open: the engine's dispose() closes it
    return conn


def socket_options(conn: psycopg.Connection) -> dict[str, int]:
    """What the kernel holds for the connection's socket: libpq may take a parameter and not apply it."""
    sock = socket.socket(fileno=socket.dup(conn.fileno()))
    try:
        return {
            "keepalives": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            "keepalives_idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            "keepalives_interval": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            "keepalives_count": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            "tcp_user_timeout": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
        }
    finally:
        sock.close()


def test_a_postgresql_connection_gets_keepalives_and_a_user_timeout(pg_databases: ScratchDatabases) -> None:
    engine = make_engine(pg_databases.url())
    try:
        conn = connection_of(engine)
        parameters = conn.info.get_parameters()
        assert {k: int(parameters[k]) for k in PG_LINK_DEFAULTS} == PG_LINK_DEFAULTS
        assert socket_options(conn) == {k: v for k, v in PG_LINK_DEFAULTS.items() if k != "connect_timeout"}
        # Within the "about 30 s" a dead link may hang a connection, idle or busy.
        idle_s = (PG_LINK_DEFAULTS["keepalives_idle"]
                  + PG_LINK_DEFAULTS["keepalives_interval"] * PG_LINK_DEFAULTS["keepalives_count"])
        assert idle_s <= 30 and PG_LINK_DEFAULTS["tcp_user_timeout"] <= 30_000
    finally:
        engine.dispose()


@pytest.mark.parametrize("query", ["tcp_user_timeout=5000&keepalives_idle=7&connect_timeout=3",
                                   "keepalives=0"])
def test_what_the_url_sets_wins(pg_databases: ScratchDatabases, query: str) -> None:
    own = dict(pair.split("=") for pair in query.split("&"))
    engine = make_engine(f"{pg_databases.url()}?{query}")
    try:
        conn = connection_of(engine)
        parameters = conn.info.get_parameters()
        assert {k: parameters[k] for k in PG_LINK_DEFAULTS} == {
            k: own.get(k, str(v)) for k, v in PG_LINK_DEFAULTS.items()}
        options = socket_options(conn)
        if own.get("keepalives") == "0":
            assert options["keepalives"] == 0
        else:
            assert options["tcp_user_timeout"] == int(own["tcp_user_timeout"])
            assert options["keepalives_idle"] == int(own["keepalives_idle"])
    finally:
        engine.dispose()
