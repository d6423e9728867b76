"""The text of an attachment file (附件): PDF, Word, Excel and WPS, by what the bytes are.

Sites serve files under wrong extensions (a DOCX saved as `.doc`, an XLS as `.et`) and sometimes an
HTML error page with status 200, so the reader is chosen from the magic bytes, with the extension
only telling apart the formats that share a container (OLE2: DOC, WPS, XLS, ET). Readers:

- PDF: pypdf, page by page up to MAX_PDF_PAGES (a scanned PDF has no text layer and gives "");
- DOCX: python-docx, paragraphs then table cells; XLSX: openpyxl in read-only mode, cell values;
- XLS/ET: xlrd; DOC/WPS (Kingsoft WPS text files are Word 97 OLE documents): `catdoc`, the Debian
  tool, when it is installed (scripts/system-packages.sh), else the file is flagged `unreadable`.

Every failure is an `AttachmentText` with an error, never an exception: one bad file must not cost
the article. Time is bounded by the caller (crawler.runtime.pool runs this in a worker with a deadline).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import docx
import openpyxl
import xlrd
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from xlrd.compdoc import CompDocError

MAX_PDF_PAGES = 300
MAX_TEXT_CHARS = 500_000
CATDOC_SECONDS = 15
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SPACES = re.compile(r"[ \t\u3000\xa0]+")
# Extensions whose files a reader here understands (DOC and WPS only with catdoc).
SPREADSHEET_EXTENSIONS = frozenset({"xls", "et"})
WORD_EXTENSIONS = frozenset({"doc", "wps"})
READABLE_EXTENSIONS = frozenset({"pdf", "docx", "xlsx", "txt"}) | SPREADSHEET_EXTENSIONS | WORD_EXTENSIONS


@dataclass(frozen=True, slots=True)
class AttachmentText:
    """What reading a file gave: its text (possibly empty), the format found, flags and an error."""

    text: str
    kind: str  # pdf, docx, xlsx, xls, doc, txt, html, unknown
    flags: list[str] = field(default_factory=list)  # unreadable, text_cut
    error: str | None = None


def extension(url: str) -> str:
    """The lower-cased extension of a URL's path ("" when it has none)."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def can_read(url: str) -> bool:
    """Whether a file under this URL is worth fetching: a reader here understands its kind."""
    ext = extension(url)
    if ext in WORD_EXTENSIONS:
        return catdoc_available()
    return ext in READABLE_EXTENSIONS


def catdoc_available() -> bool:
    """Whether the `catdoc` tool (Debian package catdoc) is installed."""
    return shutil.which("catdoc") is not None


def read_attachment(data: bytes, url: str) -> AttachmentText:
    """The text of a downloaded attachment, chosen by its magic bytes (see the module docstring)."""
    try:
        return _read(data, url)
    except Exception as exc:  # any reader failure is recorded for this file only
        return AttachmentText("", extension(url) or "unknown", [], f"{exc.__class__.__name__}: {exc}"[:300])


def _read(data: bytes, url: str) -> AttachmentText:
    head = data[:8]
    if head.startswith(b"%PDF"):
        return _finish(_pdf(data), "pdf")
    if head.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
        if "word/document.xml" in names:
            return _finish(_docx(data), "docx")
        if "xl/workbook.xml" in names:
            return _finish(_xlsx(data), "xlsx")
        return AttachmentText("", "zip", ["unreadable"], "a ZIP archive that is neither DOCX nor XLSX")
    if head == _OLE_MAGIC:
        # DOC, WPS, XLS and ET share the container: the extension says which reader to try first.
        if extension(url) in WORD_EXTENSIONS:
            word = _word97(data)
            if word.error is None or "unreadable" in word.flags:
                return word
            try:  # a spreadsheet saved under a Word name
                return _finish(_xls(data), "xls")
            except (xlrd.XLRDError, CompDocError):
                return word
        try:
            return _finish(_xls(data), "xls")
        except (xlrd.XLRDError, CompDocError):
            return _word97(data)
    if data.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return AttachmentText("", "html", [], "an HTML page where a file was linked (a login or error page)")
    if extension(url) == "txt":
        return _finish(_plain(data), "txt")
    return AttachmentText("", extension(url) or "unknown", ["unreadable"], "unknown file format")


def _finish(text: str, kind: str) -> AttachmentText:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    cleaned = "\n".join(line for line in lines if line)
    if len(cleaned) > MAX_TEXT_CHARS:
        return AttachmentText(cleaned[:MAX_TEXT_CHARS], kind, ["text_cut"])
    return AttachmentText(cleaned, kind)


def _pdf(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        # Owner-password-only PDFs (printing disabled) open with the empty user password; others don't.
        raise PyPdfError("encrypted PDF")
    parts = []
    for number, page in enumerate(reader.pages):
        if number >= MAX_PDF_PAGES:
            break
        parts.append(page.extract_text() or "")
    return "\n".join(parts)


def _docx(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _xlsx(data: bytes) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = []
        for sheet in workbook.worksheets:
            rows.append(sheet.title)
            for values in sheet.iter_rows(values_only=True):
                cells = [str(v) for v in values if v is not None and str(v).strip()]
                if cells:
                    rows.append(" ".join(cells))
        return "\n".join(rows)
    finally:
        workbook.close()


def _xls(data: bytes) -> str:
    book = xlrd.open_workbook(file_contents=data, on_demand=True)
    try:
        rows = []
        for sheet in book.sheets():
            rows.append(sheet.name)
            for r in range(sheet.nrows):
                cells = [_cell(v) for v in sheet.row_values(r) if str(v).strip()]
                if cells:
                    rows.append(" ".join(cells))
        return "\n".join(rows)
    finally:
        book.release_resources()


def _cell(value: object) -> str:
    # xlrd gives every number as a float: 2024.0 is the year 2024 on the sheet.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _word97(data: bytes) -> AttachmentText:
    if not catdoc_available():
        return AttachmentText("", "doc", ["unreadable"], "no reader for Word 97/WPS files (install catdoc)")
    with tempfile.TemporaryDirectory(prefix="countywatch-doc-") as folder:
        path = Path(folder) / "attachment.doc"
        path.write_bytes(data)
        done = subprocess.run(
            ["catdoc", "-d", "utf-8", "-w", str(path)],
            capture_output=True,
            timeout=CATDOC_SECONDS,
            check=False,
        )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return AttachmentText("", "doc", [], f"catdoc failed: {message[-1] if message else done.returncode}")
    return _finish(done.stdout.decode("utf-8", "replace"), "doc")


def _plain(data: bytes) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")
