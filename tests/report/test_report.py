"""The period report and the shift summary from a seeded store: CLI and API, CSV and PDF, figures
as computed by hand (report_seed.py)."""
from __future__ import annotations

import asyncio
import csv
import io
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from report_seed import ALERTS, CUSTODY_MINUTES, END, HANDOVER, P2, SUMMARY, VIDEO_LOSS, T, seed
from sqlalchemy import Engine

from custodywatch.api.app import create_app
from custodywatch.api.events import EventHub
from custodywatch.cli import main
from custodywatch.report import Report, Table
from custodywatch.report_csv import report_csv
from custodywatch.report_pdf import table_lines
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
    text lines of its content streams (hex strings of UCS-2, big-endian: the font's encoding is
    UniGB-UCS2-H)."""
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)", data).group(1))  # type: ignore[union-attr]
    assert data[startxref:].startswith(b"xref")
    offsets = [int(m.group(1)) for m in re.finditer(rb"(\d{10}) 00000 n ", data[startxref:])]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(f"{number} 0 obj".encode())
    for m in re.finditer(rb"<< /Length (\d+) >>\nstream\n", data):
        assert data[m.end() + int(m.group(1)):].startswith(b"endstream")
    assert b"/Encoding /UniGB-UCS2-H" in data and b"/BaseFont /STSong-Light" in data
    assert not re.search(rb"\) Tj", data)  # no literal strings: every line is UCS-2
    return [bytes.fromhex(s.decode()).decode("utf-16-be") for s in re.findall(rb"<([0-9A-Fa-f]*)> Tj", data)]


def column_at(line: str, text: str) -> int:
    """The column where text starts in a line of the PDF, counting East Asian wide characters as two."""
    assert text in line, (text, line)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:line.index(text)])


def test_the_csv_report_has_the_hand_computed_figures(tmp_path: Path, db_url: str, engine: Engine) -> None:
    tables = sections(cli_report(tmp_path, db_url, "csv").read_text(encoding="utf-8"))
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
    tables = sections(cli_report(tmp_path, db_url, "csv", "--shift").read_text(encoding="utf-8"))
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
    # The Chinese name is printed whole, and the columns after it start where they do in the header
    # and in a row of ASCII only.
    header = next(line for line in lines if line.startswith("room") and "legal_basis" in line)
    ascii_row = next(line for line in lines if "p1 Zhang" in line)
    chinese_row = next(line for line in lines if P2 in line)
    assert chinese_row.split()[:3] == ["holding-1", *P2.split()]
    for title, ascii_cell, chinese_cell in [("legal_basis", "questioning", "summons"),
                                            ("check_in", iso(T - 3600), iso(T + 3600)),
                                            ("limit_minutes", "480.0", "720.0")]:
        at = column_at(header, title)
        assert column_at(ascii_row, ascii_cell) == at and column_at(chinese_row, chinese_cell) == at, title


def test_a_pdf_reader_extracts_the_chinese_name(tmp_path: Path, db_url: str, engine: Engine) -> None:
    """An independent check with poppler's pdftotext (Debian poppler-utils, whose CJK CMaps are in
    poppler-data): the name in Chinese is text a reader finds, not `?` or boxes."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (Debian: poppler-utils poppler-data, scripts/setup.sh)")
    pdf = cli_report(tmp_path, db_url, "pdf")
    run = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    text, errors = run.stdout.decode("utf-8"), run.stderr.decode("utf-8", "replace")
    if P2 not in text and "CMap" in errors:
        pytest.skip(f"pdftotext lacks the CJK CMaps (Debian: poppler-data): {errors.strip()}")
    assert P2 in text and "interrogation-1" in text and "video_loss_minutes" in text


def test_cells_are_cut_and_padded_by_columns_a_chinese_character_taking_two() -> None:
    table = Table("custody", "Custody", ["person", "room"],
                  [["张" * 30, "a"], ["p1", "b"], ["买买提·艾力 Muñoz \U0001F600", "c"]])
    title, header, rule, long, short, other = table_lines(table)
    # 18 characters (36 columns) and the ellipsis: the column is 39 wide, its cells padded to it
    assert long == "张" * 18 + "..." + "  a"
    assert short == "p1" + " " * 37 + "  b" and header == "person" + " " * 33 + "  room"
    assert rule == "-" * 39 + "  " + "-" * 4
    # what the font has no glyph for: the middle dot as the katakana one, ñ as n, beyond the BMP `?`
    assert other == "买买提・艾力 Munoz ?" + " " * 19 + "  c"


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
