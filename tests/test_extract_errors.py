"""Bad input to extraction: via the API (ExtractionError) and via `countywatch extract` (one-line error)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.errors import ExtractionError
from crawler.html.page_reader import MAX_TEXT_CHARS, extract_article

COMMAND = [str(Path(sys.executable).with_name("countywatch")), "extract"]
PAGES_DIR = Path(__file__).parent / "fixtures" / "pages"
PARAGRAPH = (
    "<p>岳塘区教育局召开2024年秋季招生工作会议，部署义务教育招生入学工作，要求各校严格落实就近入学政策。</p>"
)


def huge_page(size: int) -> bytes:
    head = "<html><head><meta charset='utf-8'><title>岳塘区教育局召开招生工作会议</title></head><body>"
    paragraphs = PARAGRAPH * (size // len(PARAGRAPH.encode("utf-8")) + 1)
    return (head + "<div id='zoom'>" + paragraphs + "</div></body></html>").encode("utf-8")


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "whitespace": (b" \r\n\t ", "empty"),
    "pdf": (b"%PDF-1.4\n1 0 obj << >> endobj", "PDF"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG"),
    "zip": (b"PK\x03\x04" + bytes(64), "ZIP"),
    "nul_bytes": (b"<html><body>\x00\x01\x02\x00</body></html>", "binary"),
    "invalid_bytes": (
        b"<html><body><p>" + bytes(range(0x80, 0x100)) * 50 + b"</p></body></html>",
        "invalid bytes",
    ),
    "no_body": (b"<html><head><title>\xe9\x80\x9a\xe7\x9f\xa5</title></head></html>", "no body"),
    "only_script": (b"<html><body><script>var a = 1;</script></body></html>", "no body"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_raises_a_one_line_extraction_error(name: str) -> None:
    body, message = BAD_INPUTS[name]
    with pytest.raises(ExtractionError, match=message) as caught:
        extract_article(body, "http://jyj.xiangtan.gov.cn/a.html")
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_empty_str_input_raises() -> None:
    with pytest.raises(ExtractionError, match="empty"):
        extract_article("   ")


def test_a_20_mb_page_is_cut_flagged_and_bounded() -> None:
    body = huge_page(20_000_000)
    started = time.perf_counter()
    article = extract_article(body, "http://jyj.xiangtan.gov.cn/big.html")
    elapsed = time.perf_counter() - started
    assert "truncated" in article.flags
    assert article.text.startswith("岳塘区教育局召开2024年秋季招生工作会议")
    # Only the first MAX_BYTES are parsed and the body handed on is capped.
    assert len(article.text) <= MAX_TEXT_CHARS
    assert elapsed < 30, f"took {elapsed:.1f}s"


def run(
    args: list[str], stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    inherited = {key: value for key, value in os.environ.items() if key != "PAGE_URL"}
    full_env = {**inherited, **(env or {})}
    return subprocess.run([*COMMAND, *args], input=stdin, capture_output=True, env=full_env, timeout=120)


@pytest.mark.parametrize("name", ["empty", "pdf", "invalid_bytes", "no_body"])
def test_command_bad_input_exits_with_one_line_error(name: str, tmp_path: Path) -> None:
    body, message = BAD_INPUTS[name]
    page = tmp_path / "page.html"
    page.write_bytes(body)
    result = run([str(page)])
    assert result.returncode != 0
    err = result.stderr.decode("utf-8")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("countywatch: cannot extract") and message in err
    assert result.stdout == b""


def test_command_missing_file(tmp_path: Path) -> None:
    result = run([str(tmp_path / "missing.html")])
    assert result.returncode != 0
    err = result.stderr.decode("utf-8")
    assert "Traceback" not in err and "missing.html" in err


def test_command_huge_page_from_stdin() -> None:
    result = run(["-", "--url", "http://jyj.xiangtan.gov.cn/big.html"], stdin=huge_page(20_000_000))
    assert result.returncode == 0, result.stderr.decode("utf-8")
    record = json.loads(result.stdout)
    assert "truncated" in record["flags"]
    # Peak resident memory of the children so far (KiB on Linux): bounded, not a multiple of 20 MB pages.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 600_000


def test_command_reads_gbk_html_from_stdin_with_page_url() -> None:
    page = (PAGES_DIR / "traf_hebei_play" / "page.html").read_bytes()
    result = run(
        [], stdin=page, env={"PAGE_URL": "http://www.he.xinhuanet.com/news/2012-06/04/content_25340717.htm"}
    )
    assert result.returncode == 0, result.stderr.decode("utf-8")
    out = result.stdout.decode("utf-8")
    assert "约定无期限" in out  # ensure_ascii=False: Chinese printed as is
    record = json.loads(out)
    assert record["url"] == "http://www.he.xinhuanet.com/news/2012-06/04/content_25340717.htm"
    assert record["title"] == "话剧《约定无期限》河北各市巡演结束"


def test_command_text_mode_reads_a_plain_text_page(tmp_path: Path) -> None:
    text = (
        "镇坪县召开教育高质量发展大会\n发布时间:2023-09-08 11:11 作者:王贤忠\n"
        "9月7日、第39个教师节来临之际，镇坪县召开教育高质量发展大会。\n"
    )
    page = tmp_path / "page.txt"
    page.write_bytes(text.encode("gbk"))
    result = run([str(page), "--text", "--url", "http://jyj.ankang.gov.cn/a.html"])
    assert result.returncode == 0, result.stderr.decode("utf-8")
    record = json.loads(result.stdout)
    assert record["title"] == "镇坪县召开教育高质量发展大会"
    assert record["published_at"] == "2023-09-08T11:11:00+08:00"
    assert record["authors"] == ["王贤忠"]
    assert record["text"].startswith("9月7日")


def test_command_text_mode_rejects_binary(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(b"\x00\x01binary\x00")
    result = run([str(page), "--text"])
    assert result.returncode != 0
    assert "Traceback" not in result.stderr.decode("utf-8")


def test_str_input_with_an_xml_declaration_is_parsed() -> None:
    page = (
        '<?xml version="1.0" encoding="utf-8"?><html><head><title>关于招生的通知-岳塘区教育局</title></head>'
        "<body><div id='zoom'>" + PARAGRAPH * 3 + "</div></body></html>"
    )
    article = extract_article(page, "http://jyj.xiangtan.gov.cn/a.html")
    assert article.title == "关于招生的通知"
    assert article.text.startswith("岳塘区教育局召开2024年秋季招生工作会议")
