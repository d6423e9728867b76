"""Attachment files for the replica and the tests: PDFs with Chinese text, built the way office
suites export them.

Word's and WPS's "save as PDF" write each font as a Type0 font with Identity-H encoding (glyph ids,
not characters, in the content stream) and a ToUnicode CMap that maps the ids back to characters;
text extraction depends on that map. `cjk_pdf` writes the same structure (without the embedded
glyph program, which no text extractor reads), so pypdf meets what it meets on a county site.
"""

from __future__ import annotations

from replica.catalog import ArticleSpec, read_data_text
from replica.pages import minimal_pdf

CJK_FONT = b"SimSun"


def attachment_pdf(site_name: str, article: ArticleSpec, cycle: int) -> bytes:
    """The PDF an article's attachment link serves in `cycle`."""
    attachment = article.attachment
    assert attachment is not None
    text_file = attachment.text_in(cycle)
    if text_file is None:
        return minimal_pdf(f"{site_name} {attachment.file}")
    return cjk_pdf([line.strip() for line in read_data_text(text_file).splitlines() if line.strip()])


def _cmap(chars: list[str]) -> bytes:
    entries = "\n".join(f"<{number:04X}> <{ord(char):04X}>" for number, char in enumerate(chars, start=1))
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{len(chars)} beginbfchar\n{entries}\nendbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    ).encode("ascii")


def cjk_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing `lines` (any BMP characters) in a Type0/Identity-H font with ToUnicode."""
    chars = sorted({c for line in lines for c in line})
    glyph = {char: number for number, char in enumerate(chars, start=1)}
    shown = []
    for row, line in enumerate(lines):
        codes = "".join(f"{glyph[c]:04X}" for c in line)
        shown.append(f"BT /F1 11 Tf 1 0 0 1 56 {790 - 18 * row} Tm <{codes}> Tj ET")
    stream = "\n".join(shown).encode("ascii")
    cmap = _cmap(chars)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /" + CJK_FONT + b" /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 8 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /" + CJK_FONT + b" "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        b"/FontDescriptor 7 0 R /DW 1000 /CIDToGIDMap /Identity >>",
        b"<< /Type /FontDescriptor /FontName /" + CJK_FONT + b" /Flags 6 /FontBBox [0 -141 1000 859] "
        b"/ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 859 /StemV 80 >>",
        b"<< /Length " + str(len(cmap)).encode() + b" >>\nstream\n" + cmap + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
