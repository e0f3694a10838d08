"""A report as a PDF, written by hand: text tables in one font, so no font file, layout engine or
extra package is needed on an offline box.

The font is STSong-Light, one of the PDF's predefined Chinese CID-keyed fonts: a Type0 font with
the UniGB-UCS2-H encoding (text is UCS-2, big-endian, written in hex), not embedded, which PDF
readers draw with an installed Chinese font (Acrobat's Asian font pack, poppler-data and a system
font such as WenQuanYi or Noto CJK). One font for every line, Chinese or not, keeps the writer
simple and the columns aligned: its /W makes the ASCII characters (Adobe-GB1 CIDs 1 to 95, where
UniGB-UCS2-H maps them) 500 units wide and every other character 1000 (/DW), so a table is laid out
in columns where an ASCII character takes one and any other (a Chinese one: East Asian width W or F)
exactly two. Courier for ASCII lines beside it would need a second width grid and font switches
within a line; the built-in Latin fonts cover no Chinese at all.

What Adobe-GB1 lacks cannot be printed: characters beyond the BMP print as `?`, Latin letters it
has no glyph for lose their accent (ñ prints as n, ß as ss) or print as `?`, the middle dot of a
transliterated name prints as the katakana one (・). The CSV keeps every character whole. Content
streams are left uncompressed, which keeps them readable.
"""
from __future__ import annotations

import unicodedata

from custodywatch.report import Cell, Report, Table

PAGE_W, PAGE_H = 842, 595  # A4 landscape, points
MARGIN = 36
FONT_SIZE = 8
LEADING = 10
COLUMN_W = 0.5 * FONT_SIZE  # an ASCII character's advance (/W 500); any other character takes two
MAX_COLUMNS = int((PAGE_W - 2 * MARGIN) / COLUMN_W)
LINES_PER_PAGE = int((PAGE_H - 2 * MARGIN) / LEADING)
MAX_CELL = 40  # columns: longer cells (alert ids) are cut, with an ellipsis: the CSV has them whole

# The characters from U+0080 to U+02FF that UniGB-UCS2-H maps to a glyph (pinyin and a few signs):
# the others of that range are replaced (_printable).
_GB1_LATIN = frozenset("¤¥§¨°±×àáèéêìíòó÷ùúüāēěīōūǎǐǒǔǖǘǚǜǹˇˉˊˋ˙")
_SUBSTITUTES = {"·": "・", "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o",
                "Ð": "D", "ð": "d", "Đ": "D", "đ": "d", "Ł": "L", "ł": "l", "Þ": "Th", "þ": "th"}
# The font's widths: ASCII 500 units (one column), every other CID (and CID 0, .notdef) 1000 (two).
_FONT = (b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H /Encoding /UniGB-UCS2-H "
         b"/DescendantFonts [4 0 R] >>")
_CID_FONT = (b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
             b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
             b"/FontDescriptor 5 0 R /DW 1000 /W [1 95 500] >>")
_DESCRIPTOR = (b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
               b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>")


def _is_ascii(ch: str) -> bool:
    return " " <= ch <= "~"


def _printable_char(ch: str) -> str:
    if _is_ascii(ch):
        return ch
    category = unicodedata.category(ch)
    if category == "Cc":
        return " "  # a tab or line break inside a cell
    if category in ("Cf", "Mn", "Me"):
        return ""  # invisible, or a mark left over after composing (it has no glyph of its own)
    if ord(ch) > 0xFFFF or category == "Cs":
        return "?"  # UCS-2 has no room for it
    if 0x80 <= ord(ch) < 0x300 and ch not in _GB1_LATIN:
        if ch in _SUBSTITUTES:
            return _SUBSTITUTES[ch]
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        return base if base and all(_is_ascii(c) or c in _GB1_LATIN for c in base) else "?"
    return ch


def _printable(text: str) -> str:
    """The text as the PDF prints it (see the module's docstring): every character of the result is in
    the BMP, and is either ASCII or two columns wide."""
    return "".join(_printable_char(ch) for ch in unicodedata.normalize("NFC", text))


def columns(text: str) -> int:
    """How many columns printable text takes: one per ASCII character, two per other one."""
    return sum(1 if _is_ascii(ch) else 2 for ch in text)


def _cut(text: str, width: int) -> str:
    """The longest start of printable text that fits in `width` columns."""
    used = 0
    for i, ch in enumerate(text):
        used += 1 if _is_ascii(ch) else 2
        if used > width:
            return text[:i]
    return text


def _text(cell: Cell) -> str:
    text = _printable("" if cell is None else str(cell))
    return text if columns(text) <= MAX_CELL else _cut(text, MAX_CELL - 3) + "..."


def _fit(line: str) -> str:
    return _cut(_printable(line), MAX_COLUMNS)


def table_lines(table: Table) -> list[str]:
    """The table as printable lines, its columns padded to the same width in columns."""
    header = [_text(c) for c in table.columns]
    cells = [[_text(c) for c in row] for row in table.rows]
    widths = [max([columns(col), *(columns(row[i]) for row in cells)]) for i, col in enumerate(header)]

    def line(values: list[str]) -> str:
        padded = (v + " " * (w - columns(v)) for v, w in zip(values, widths, strict=True))
        return _cut("  ".join(padded).rstrip(), MAX_COLUMNS)

    out = [_fit(table.title), line(header), line(["-" * w for w in widths])]
    out += [line(row) for row in cells] or ["(none)"]
    return out


def _page_stream(lines: list[str]) -> bytes:
    parts = [b"BT", f"/F1 {FONT_SIZE} Tf".encode(), f"{LEADING} TL".encode(),
             f"{MARGIN} {PAGE_H - MARGIN - FONT_SIZE} Td".encode()]
    for line in lines:
        parts.append(b"<" + _printable(line).encode("utf-16-be").hex().upper().encode() + b"> Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts) + b"\n"


def report_pdf(report: Report) -> bytes:
    lines = [_fit(report.title), ""]
    for table in report.tables:
        lines += [*table_lines(table), ""]
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    # Objects: 1 catalog, 2 page tree, 3 to 5 the font (Type0, its CIDFont, the CIDFont's descriptor),
    # then per page its page object and content stream.
    objects: list[bytes] = [b"", b"", _FONT, _CID_FONT, _DESCRIPTOR]
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
