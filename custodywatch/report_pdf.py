"""A report as a PDF, written by hand: text tables in a built-in monospaced font (Courier), so no
font file, layout engine or extra package is needed on an offline box.

The built-in fonts cover Latin-1 only: other characters (a name in Chinese) print as `?` in the
PDF; the CSV keeps them whole. Content streams are left uncompressed, which keeps them readable.
"""
from __future__ import annotations

from custodywatch.report import Cell, Report, Table

PAGE_W, PAGE_H = 842, 595  # A4 landscape, points
MARGIN = 36
FONT_SIZE = 8
LEADING = 10
CHAR_W = 0.6 * FONT_SIZE  # Courier's advance width
MAX_CHARS = int((PAGE_W - 2 * MARGIN) / CHAR_W)
LINES_PER_PAGE = int((PAGE_H - 2 * MARGIN) / LEADING)
MAX_CELL = 40  # longer cells (alert ids) are cut, with an ellipsis: the CSV has them whole


def _text(cell: Cell) -> str:
    text = "" if cell is None else str(cell)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 3] + "..."


def table_lines(table: Table) -> list[str]:
    cells = [[_text(c) for c in row] for row in table.rows]
    widths = [max([len(col), *(len(row[i]) for row in cells)]) for i, col in enumerate(table.columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()[:MAX_CHARS]

    out = [table.title, line(table.columns), line(["-" * w for w in widths])]
    out += [line(row) for row in cells] or ["(none)"]
    return out


def _escape(line: str) -> bytes:
    raw = line.encode("latin-1", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _page_stream(lines: list[str]) -> bytes:
    parts = [b"BT", f"/F1 {FONT_SIZE} Tf".encode(), f"{LEADING} TL".encode(),
             f"{MARGIN} {PAGE_H - MARGIN - FONT_SIZE} Td".encode()]
    for line in lines:
        parts.append(b"(" + _escape(line) + b") Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts) + b"\n"


def report_pdf(report: Report) -> bytes:
    lines = [report.title, ""]
    for table in report.tables:
        lines += [*table_lines(table), ""]
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    # Objects: 1 catalog, 2 page tree, 3 font, then per page its page object and content stream.
    objects: list[bytes] = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier "
                                      b"/Encoding /WinAnsiEncoding >>"]
    kids = []
    for page in pages:
        stream = _page_stream(page)
        page_id, content_id = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_id} 0 R")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>".encode())
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"endstream")
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
