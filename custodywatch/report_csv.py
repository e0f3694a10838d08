"""A report as one CSV file: each table is a block of rows whose first cell names its section
(`summary`, `alerts`, `video_loss`, `custody`, `handover`), after a header row of the same shape, so
a spreadsheet filter or a script picks a table out by its first column."""
from __future__ import annotations

import csv
import io

from custodywatch.report import Cell, Report

# A text cell a spreadsheet would run as a formula (a name typed as "=HYPERLINK(...)") is written
# with a leading apostrophe, which spreadsheets show as text; numbers are written as they are.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(cell: Cell) -> str | int | float:
    if cell is None:
        return ""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["report", report.title])
    for table in report.tables:
        writer.writerow([])
        writer.writerow(["section", *table.columns])
        for row in table.rows:
            writer.writerow([table.key, *(_cell(cell) for cell in row)])
    return out.getvalue()
