"""The period report and the shift summary from a seeded store: CLI and API, CSV and PDF, figures
as computed by hand (report_seed.py)."""
from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from report_seed import ALERTS, CUSTODY_MINUTES, END, HANDOVER, SUMMARY, VIDEO_LOSS, T, seed
from sqlalchemy import Engine

from custodywatch.api.app import create_app
from custodywatch.api.events import EventHub
from custodywatch.cli import main
from custodywatch.report import Report, Table
from custodywatch.report_csv import report_csv
from custodywatch.store.accounts import AccountStore, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate


@pytest.fixture
def db_url(store_url: str) -> str:
    """The seeded store: a SQLite file, or a scratch PostgreSQL database (tests/conftest.py)."""
    return store_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    seed(engine)
    yield engine
    engine.dispose()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def sections(text: str) -> dict[str, list[list[str]]]:
    """The CSV's tables by section, rows without the section cell (headers included first)."""
    out: dict[str, list[list[str]]] = {}
    header: list[str] | None = None
    for row in csv.reader(io.StringIO(text)):
        if not row or row[0] == "report":
            continue
        if row[0] == "section":
            header = row[1:]
            continue
        assert header is not None
        out.setdefault(row[0], [header]).append(row[1:])
    return out


def cli_report(tmp_path: Path, db_url: str, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"report.{fmt}"
    assert main(["report", "--from", iso(T), "--to", iso(END), "--format", fmt, "-o", str(out),
                 "--database-url", db_url, *extra]) == 0
    return out


def pdf_lines(data: bytes) -> list[str]:
    """Checks the file is a PDF whose cross-reference table points at its objects, and returns the
    text lines of its content streams."""
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)", data).group(1))  # type: ignore[union-attr]
    assert data[startxref:].startswith(b"xref")
    offsets = [int(m.group(1)) for m in re.finditer(rb"(\d{10}) 00000 n ", data[startxref:])]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(f"{number} 0 obj".encode())
    for m in re.finditer(rb"<< /Length (\d+) >>\nstream\n", data):
        assert data[m.end() + int(m.group(1)):].startswith(b"endstream")
    strings = re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", data)
    return [re.sub(rb"\\(.)", rb"\1", s).decode("latin-1") for s in strings]


def test_the_csv_report_has_the_hand_computed_figures(tmp_path: Path, db_url: str, engine: Engine) -> None:
    tables = sections(cli_report(tmp_path, db_url, "csv").read_text())
    assert tables["alerts"][1:] == ALERTS
    assert tables["video_loss"][1:] == VIDEO_LOSS
    summary = dict(tables["summary"][1:])
    assert {k: summary[k] for k in SUMMARY} == SUMMARY
    header, *rows = tables["custody"]
    assert header[:2] == ["room", "person"]
    assert {r[1]: (r[5], r[6], r[7], r[8]) for r in rows} == CUSTODY_MINUTES
    assert "handover" not in tables


def test_the_shift_summary_adds_what_is_unresolved_at_its_end(tmp_path: Path, db_url: str,
                                                              engine: Engine) -> None:
    tables = sections(cli_report(tmp_path, db_url, "csv", "--shift").read_text())
    header, *rows = tables["handover"]
    assert header == ["room", "rule", "severity", "fired_at", "state", "active", "alert_id"]
    assert {r[6]: (r[4], r[5]) for r in rows} == HANDOVER


def test_the_pdf_report_is_a_valid_pdf_with_the_same_figures(tmp_path: Path, db_url: str,
                                                             engine: Engine) -> None:
    lines = pdf_lines(cli_report(tmp_path, db_url, "pdf").read_bytes())
    words = [line.split() for line in lines]
    for row in ALERTS:
        assert [cell for cell in row if cell] in words
    for row in VIDEO_LOSS:
        assert row in words
    assert ["mean_ack_s", "50.0"] in words and ["video_loss_minutes", "13.0"] in words
    assert any(w[:3] == ["interrogation-1", "p1", "Zhang"] and w[-4:] == ["120.0", "180.0", "480.0", "no"]
               for w in words)


def test_the_api_serves_the_same_report_to_investigators(db_url: str, engine: Engine) -> None:
    accounts = AccountStore(engine)
    accounts.add_user("inv", Role.INVESTIGATOR, "correct horse battery")
    session = accounts.login("inv", "correct horse battery")
    assert session is not None
    app = create_app(AlertStore(engine, "zh-center", "box1"), EventHub(), engine=engine)
    query = {"from": iso(T), "to": iso(END)}

    async def get_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://box",
                                     headers={"Authorization": f"Bearer {session.token}"}) as client:
            return [await client.get("/api/reports", params=params) for params in (
                {**query, "format": "csv", "shift": "true"}, {**query, "format": "pdf"},
                {"from": iso(END), "to": iso(T)})]

    response, pdf, backwards = asyncio.run(get_all())
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    tables = sections(response.text)
    assert tables["alerts"][1:] == ALERTS and {r[6] for r in tables["handover"][1:]} == set(HANDOVER)
    assert pdf.headers["content-type"] == "application/pdf"
    assert ["video_loss_minutes", "13.0"] in [line.split() for line in pdf_lines(pdf.content)]
    assert backwards.status_code == 422 and "to:" in backwards.json()["detail"]


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "yesterday", "--to", "+0s"], "--from: 'yesterday'"),
    (["--from=-1h", "--to=-2h"], "--to: the period must end after it begins"),
    (["--to=-1h"], "--from and --to are needed"),
])
def test_bad_report_arguments_exit_2_naming_them(tmp_path: Path, db_url: str,
                                                 capsys: pytest.CaptureFixture[str], args: list[str],
                                                 message: str) -> None:
    code = main(["report", *args, "-o", str(tmp_path / "r.csv"), "--database-url", db_url])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text() -> None:
    table = Table("custody", "Custody", ["person", "minutes"], [["=HYPERLINK(\"http://x\")", -5.0]])
    rows = list(csv.reader(io.StringIO(report_csv(Report("r", [table])))))
    assert rows[-1] == ["custody", "'=HYPERLINK(\"http://x\")", "-5.0"]
