"""Reading attachment files: each format by its bytes, failures recorded, never raised."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest
import xlwt

from crawler.files import attachment_text
from crawler.files.attachment_text import can_read, read_attachment
from replica.attachments import cjk_pdf

POSTS = ["东区2024年公开招聘中小学教师岗位表", "岗位代码 24001 初中语文 2人 笔试科目 教育公共基础"]


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_paragraph("附件2 报名登记表")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "姓名"
    table.cell(0, 1).text = "毕业院校"
    table.cell(1, 0).text = "王敏"
    table.cell(1, 1).text = "陕西师范大学"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "岗位表"
    sheet.append(["序号", "招聘学校", "岗位", "人数"])
    sheet.append([1, "县城关小学", "小学语文", 2])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xls_bytes() -> bytes:
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("资助名单")
    rows: list[list[object]] = [["序号", "姓名", "资助档次", "年份"], [1, "李想", "一档", 2024]]
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            sheet.write(row, column, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_pdf_text_comes_through_its_tounicode_map() -> None:
    result = read_attachment(cjk_pdf(POSTS), "http://x.gov.cn/P0202404.pdf")
    assert (result.kind, result.error, result.flags) == ("pdf", None, [])
    assert result.text.splitlines() == POSTS


def test_docx_paragraphs_and_table_cells() -> None:
    result = read_attachment(docx_bytes(), "http://x.gov.cn/a.docx")
    assert result.kind == "docx" and result.text.splitlines() == [
        "附件2 报名登记表",
        "姓名 毕业院校",
        "王敏 陕西师范大学",
    ]


def test_xlsx_sheet_name_and_rows() -> None:
    result = read_attachment(xlsx_bytes(), "http://x.gov.cn/a.xlsx")
    assert result.kind == "xlsx" and result.text.splitlines() == [
        "岗位表",
        "序号 招聘学校 岗位 人数",
        "1 县城关小学 小学语文 2",
    ]


def test_xls_numbers_read_as_written() -> None:
    result = read_attachment(xls_bytes(), "http://x.gov.cn/a.xls")
    assert result.kind == "xls" and result.text.splitlines() == [
        "资助名单",
        "序号 姓名 资助档次 年份",
        "1 李想 一档 2024",
    ]


def test_the_bytes_decide_not_the_extension() -> None:
    # A DOCX saved as .doc and an XLS named .et (Kingsoft's spreadsheet) are read for what they are.
    assert read_attachment(docx_bytes(), "http://x.gov.cn/a.doc").kind == "docx"
    assert read_attachment(xls_bytes(), "http://x.gov.cn/a.et").kind == "xls"


def test_an_error_page_where_a_file_was_linked_is_recorded() -> None:
    result = read_attachment(b"<!DOCTYPE html><html><title>404</title></html>", "http://x.gov.cn/a.pdf")
    assert result.text == "" and result.kind == "html" and result.error is not None


def test_a_broken_file_is_an_error_on_that_file_only() -> None:
    result = read_attachment(b"%PDF-1.4\n1 0 obj <<", "http://x.gov.cn/a.pdf")
    assert result.text == "" and result.kind == "pdf" and "PdfStreamError" in (result.error or "")


def test_unknown_formats_are_listed_as_unreadable() -> None:
    assert read_attachment(b"Rar!\x1a\x07\x00", "http://x.gov.cn/a.rar").flags == ["unreadable"]
    assert not can_read("http://x.gov.cn/a.rar") and not can_read("http://x.gov.cn/a.ofd")
    assert can_read("http://x.gov.cn/a.PDF") and can_read("http://x.gov.cn/a.xlsx?v=2")


def test_word97_without_catdoc_is_flagged_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachment_text, "catdoc_available", lambda: False)
    ole_not_a_workbook = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    result = read_attachment(ole_not_a_workbook, "http://x.gov.cn/a.doc")
    assert result.flags == ["unreadable"] and "catdoc" in (result.error or "")
    assert not can_read("http://x.gov.cn/a.wps")


def test_text_is_cut_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachment_text, "MAX_TEXT_CHARS", 10)
    result = read_attachment(cjk_pdf(POSTS), "http://x.gov.cn/a.pdf")
    assert len(result.text) == 10 and result.flags == ["text_cut"]
