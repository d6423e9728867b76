"""Site chrome around an article: banners, breadcrumbs, print/share links, pagers, footers, tails.

Lines are judged after conversion to simplified script, one at a time; `boilerplate_kind` says
what a line is. A tail block (related articles, app download, column lists) ends the article:
everything after its first line is chrome too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

BoilerplateKind = Literal["banner", "breadcrumb", "chrome", "pager", "footer", "tail", "promo"]

_BANNER = re.compile(
    r"欢迎(您|你|访问|光临)|网站无障碍|无障碍(浏览|阅读)|本站支持IPV6|支持IPv6|长者模式|关怀版|设为首页|加入收藏"
    r"|^(安装|下载).{0,12}客户端|^(简体|繁体|繁體)(版|中文)?$|^(登录|注册)(\s*\|?\s*(登录|注册))?$",
    re.IGNORECASE,
)
_BREADCRUMB = re.compile(
    r"^(?:您?(?:当前|现在)?的?(?:所在)?位置|当前位置|所在位置)\s*[:：]\s*(?P<path>.+?)[\s|丨]*$"
)
_CRUMB_SPLIT = re.compile(r"\s*(?:>>|>|»|→|/|＞|›)\s*")
_CRUMB_END = {"正文", "正文内容", "详情", "内容", "详细内容", "浏览文章", "阅读", "文章"}
_CRUMB_HOME = {"首页", "网站首页", "主页", "返回首页"}
_CHROME = re.compile(
    r"^[\[【(（]?\s*(打印本页|我要打印|打印|关闭窗口|关闭本页|关闭|返回顶部|返回|收藏|收藏本页|纠错|我要纠错|扫一扫"
    r"|点击(?:查看|看)?(?:清晰)?大图"
    r"|字号\s*[:：]?\s*(大\s*中\s*小|\[?大\]?\s*\[?中\]?\s*\[?小\]?)?|调整字体|图集|分享到\s*[:：]?.*|分享给好友阅读\s*[:：]?)"
    r"\s*[\]】)）]?"
    r"(\s*[\[【(（]?\s*(打印本页|打印|关闭窗口|关闭|收藏|分享给好友阅读\s*[:：]?|分享到\s*[:：]?.*)\s*[\]】)）]?)*$"
)
# The mark a WeChat-style article closes with (`THE END`, `- END -`): alone on its line, in capitals.
_END_MARK = re.compile(r"^[-—–_=\s]*(?:THE\s+)?END[-—–_=\s]*$")
_PAGER = re.compile(
    r"^(共有?\s*\d+\s*页\s*(当前第\s*\d+\s*页)?|当前第\s*\d+\s*页|上一页|下一页|首页\s+(上一页\s+)?(下一页\s+)?尾页"
    r"|[\d\s]*(上一页|下一页)[\d\s]*(上一页|下一页)?[\d\s]*)$"
)
# Templates pad two-character labels with spaces to align them (`地 址：`, `电　话：`).
_FOOTER = re.compile(
    r"^(主办(单位)?|承办(单位)?|协办(单位)?|网站标识码|ICP备案编号|联系电话|电\s*话|地\s*址|邮\s*编|邮政编码"
    r"|网站访问量|访问量|技术支持|联系方式|传\s*真)\s*[:：]|ICP备\s*\d|公网安备\s*[:：]?\s*\d|版权所有|Copyright|©|网站地图\s*[|丨]|联系我们\s*[|丨]",
    re.IGNORECASE,
)
_PUBLISHER = re.compile(r"主办(?:单位)?\s*[:：]\s*(?P<value>.+?)(?=\s+(?:承办|协办|联系电话|地址|邮编)|$)")
_SITE_ID = re.compile(r"网站标识码\s*[:：]\s*(?P<value>[0-9A-Za-z]{6,20})")
_TAIL = re.compile(
    r"^(相关(阅读|新闻|文章|链接|推荐)|推荐阅读|延伸阅读|热点(新闻|推荐)|热门(文章|推荐)|精选推荐|视频精选|我要报料"
    r"|下载\s*APP|下载客户端|上一篇|下一篇|(.{2,6})要闻|猜你喜欢|更多(新闻|资讯)|扫码关注|关注我们"
    # A WeChat page's QR-code box after the article: `微信扫一扫 关注该公众号`.
    r"|(微信)?扫一扫\s*关注(该|本)?(公众号|我们|微信)"
    r"|(长按|扫描|扫一扫|识别).{0,8}二维码.{0,16}|(特别|免责|版权)声明|(新闻|网友|发表|我要)评论|评论列表"
    r"|加载更多|热帖|热词|参考资料|参考文献)"
    r"(\s*[:：].*)?$",
    re.IGNORECASE,
)
_TAIL_MAX_LENGTH = 40
# Notices of the site about every article: who holds the view, how to reprint.
_NOTICE = re.compile(
    r"^(?:本文(?:仅|只)?代表作者(?:本人|个人)?(?:观点|立场)|(?:请支持独立网站[，,]\s*)?(?:转载|转发)请注明(?:出处|来源|本文链接)"
    r"|(?:未经授权|未经许可)[，,]?\s*(?:禁止|严禁|不得)(?:转载|复制))"
)
_NOTICE_MAX_LENGTH = 120
# A teaser of another article: its lead, then a link to it (`…的作用、贡献。 【详细】`).
_PROMO = re.compile(r"[【\[]\s*(详细|详情|全文|更多)\s*[】\]]$")
_FRAME = " \t|丨"  # table-cell bars some CMSs leave around chrome lines
_BANNER_MAX_LENGTH = 30


@dataclass(frozen=True, slots=True)
class Breadcrumb:
    """What a breadcrumb says: the site's name (its first crumb) and the column path."""

    site_name: str | None
    section: str | None


@dataclass(frozen=True, slots=True)
class FooterFields:
    """What a government footer line says about the site."""

    publisher: str | None = None
    site_id_code: str | None = None


def parse_breadcrumb(line: str) -> Breadcrumb | None:
    """Parse `您当前的位置:站名 > 栏目 > 子栏目 > 正文内容` into site name and section."""
    match = _BREADCRUMB.match(line.strip(_FRAME))
    if not match:
        return None
    crumbs = [c for c in _CRUMB_SPLIT.split(match["path"].strip()) if c]
    if crumbs and crumbs[-1] in _CRUMB_END:
        crumbs.pop()
    site_name = None
    if crumbs:
        first = crumbs.pop(0)
        site_name = None if first in _CRUMB_HOME else first
    return Breadcrumb(site_name=site_name, section=" > ".join(crumbs) or None)


def footer_fields(line: str) -> FooterFields:
    """The publisher (`主办:`) and site identification code (`网站标识码:`) a footer line gives."""
    publisher = _PUBLISHER.search(line)
    site_id = _SITE_ID.search(line)
    return FooterFields(
        publisher=publisher["value"].strip() if publisher else None,
        site_id_code=site_id["value"] if site_id else None,
    )


def boilerplate_kind(line: str) -> BoilerplateKind | None:
    """What kind of site chrome a line is, or None for a line that may be content."""
    line = line.strip(_FRAME)
    if not line:
        return None
    if _BREADCRUMB.match(line):
        return "breadcrumb"
    if len(line) <= _BANNER_MAX_LENGTH and _BANNER.search(line):
        return "banner"
    if _CHROME.match(line) or _END_MARK.match(line):
        return "chrome"
    if _PAGER.match(line):
        return "pager"
    if len(line) <= 200 and _FOOTER.search(line) and not line.endswith("。"):
        return "footer"
    if len(line) <= _TAIL_MAX_LENGTH and _TAIL.match(line):
        return "tail"
    if len(line) <= _NOTICE_MAX_LENGTH and _NOTICE.match(line):
        return "chrome"
    if _PROMO.search(line):
        return "promo"
    return None
