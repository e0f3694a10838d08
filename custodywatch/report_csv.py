"""A report as one CSV file: each table is a block of rows whose first cell names its section
(`summary`, `alerts`, `video_loss`, `custody`, `handover`), after a header row of the same shape, so
a spreadsheet filter or a script picks a table out by its first column."""
from __future__ import annotations

import csv
import io

from custodywatch.report import Report


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["report", report.title])
    for table in report.tables:
        writer.writerow([])
        writer.writerow(["section", *table.columns])
        for row in table.rows:
            writer.writerow([table.key, *("" if cell is None else cell for cell in row)])
    return out.getvalue()
