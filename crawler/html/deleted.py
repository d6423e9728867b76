"""Recognising a "deleted" notice: a page that answers 200 but says its item was taken down.

Government CMSs and news sites answer a withdrawn article's URL (or redirect it) with a short page
in the site's template: 该信息已删除, 对不起，您访问的页面不存在或已被删除！, 此信息已下线, 此稿件已撤稿.
Such a page has the notice in its title or in a short line that is little else, and no paragraph
of its own. An article that mentions deletion (删除了第三条, 关于撤销…的决定, 经核查，该信息已删除。
特此说明。) has other words around the phrase, or paragraphs, and is not a notice.
"""

from __future__ import annotations

import re

# The flag an Article carries when its page is a deleted notice (crawler.html.page_reader sets it).
DELETED_NOTICE_FLAG = "deleted_notice"

_SUBJECT = r"(?:信息|内容|文章|页面|网页|稿件|新闻|资讯|文档|文件|公告|通知|条目|链接|帖子|记录)"
_GONE = r"(?:删除|撤销|撤回|撤稿|撤除|下线|下架|移除|屏蔽|过期|失效|关闭)"
_MISSING = r"(?:不存在|已不存在|未找到|找不到|无法访问|无法查看|无法显示)"
# After a determiner or a "what you asked for" phrase, or at the start of a clause, so that
# 个人信息被删除的权利 (a subject inside a longer noun phrase) is not taken for a notice.
_LEAD = (
    r"(?:^|(?<=[，,。！!：:；;\s])|该|此|本|这|您[^，,。！!]{0,6}的|你[^，,。！!]{0,6}的)(?:条|篇|则|个|份)?"
)
_STATE = rf"(?:(?:已经?|已?被[^，,。！!\s]{{0,6}}?){_GONE}|{_MISSING})"
_NOTICE = re.compile(
    rf"{_LEAD}{_SUBJECT}{_STATE}(?:(?:或者?|或已|和|且|并)?{_STATE})*|{_LEAD}已撤稿|^404(?:\s*not\s*found)?$",
    re.IGNORECASE,
)
# Words a notice line carries besides the notice itself: apologies, prompts, the way back.
_COURTESY = re.compile(
    r"对不起|很?抱歉|非常抱歉|sorry|系统提示|温馨提示|提示信息|提示|您好|"
    r"\d*秒后?(?:将)?(?:自动)?(?:跳转|返回)(?:到)?(?:首页)?|返回首页|返回上一?页|返回|关闭窗口|"
    r"请(?:浏览|查看)其他(?:信息|内容)|请检查您?输入的网址(?:是否正确)?|请联系(?:网站)?管理员",
    re.IGNORECASE,
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_TITLE_SEPARATORS = re.compile(r"\s*(?:[_|｜]|\s[-–—]\s|--)\s*")
_MAX_NOTICE_LINE = 60  # characters: a notice is one short sentence
_MAX_OTHER_HAN = 6  # Han characters on a notice line besides the notice and courtesy words
_PARAGRAPH_HAN = 30  # a line with this many Han characters is a paragraph: the page has a body


def is_notice_line(line: str) -> bool:
    """Whether a line (or a title segment) is a deleted notice and little else."""
    line = " ".join(line.split())
    if not line or len(line) > _MAX_NOTICE_LINE or line.startswith("关于"):
        return False  # 关于…的通知/决定 is a document's title, whatever it is about
    rest, found = _NOTICE.subn(" ", line)
    if not found:
        return False
    return len(_HAN.findall(_COURTESY.sub(" ", rest))) <= _MAX_OTHER_HAN


def is_deleted_notice(title: str | None, text: str) -> bool:
    """Whether a page (its title and main text lines) says its item was deleted, with no article body."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    notices = [line for line in lines if is_notice_line(line)]
    if any(len(_HAN.findall(line)) >= _PARAGRAPH_HAN for line in lines if line not in notices):
        return False
    if notices:
        return True
    return bool(title) and any(is_notice_line(part) for part in _TITLE_SEPARATORS.split(title or ""))
