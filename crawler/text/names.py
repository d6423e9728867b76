"""Personal names in credits and bylines: `杜娟 陆致吉`, `记者陈智`, `南都记者 余毅菁 向雪妮`.

Names come after role words (记者, 通讯员, 评论员 …), which may carry a medium or a qualifier in
front (`南都记者`, `职工通讯员`, `新华社记者才扬`); the role and what precedes it are dropped.
A name standing alone in parentheses (`（张巨峰）`) is believed only when it starts with a common
surname, so `（县教育局）` or `（化名）` are not taken for people.
"""

from __future__ import annotations

import re

ROLE = (
    r"(?:(?:本报|本台|本网|本刊|特约|见习|实习|首席|职工|融媒体?)?(?:记者|通讯员|评论员|撰稿人)"
    r"|(?:专栏|特约)作者|实习生|摄影|摄像)"
)
# CJK Unified Ideographs with Extension A: names like 刘䶮 use the rarer characters.
HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_ROLE_PREFIX = re.compile(rf"^[\u4e00-\u9fff]{{0,6}}?{ROLE}")
_NAME_SPLIT = re.compile(r"[\s、,，/;；&＆]+")
_NAME = re.compile(rf"^[{HAN}·]{{2,5}}$")
_SINGLE = re.compile(rf"^[{HAN}]$")
# Words of links and notes that follow a byline (`作者:余毅菁 返回富达,查看更多`, `记者陈智 整合`).
_NOT_NAME = re.compile(
    r"查看|更多|返回|点击|阅读|原文|全文|分享|链接|网站|整理|整合|综合|编译|报道|转载|编辑"
)
# Endings of organisations, which credits name as often as people (`（德清县发改局）`).
ORGANISATION = re.compile(
    r"(?:党支部|支部|党委|委员会|办公室|政府|中心|公司|集团|学校|中学|小学|幼儿园|医院|大学|学院"
    r"|[局科处办委院所站队组部会社馆校网报台厅])$"
)
_COMPOUND = "欧阳司马上官诸葛东方皇甫尉迟公孙慕容令狐长孙宇文司徒夏侯轩辕端木独孤南宫钟离申屠"
_COMPOUND_SURNAMES = frozenset(_COMPOUND[i : i + 2] for i in range(0, len(_COMPOUND), 2))
# Common single-character surnames, less those that mostly start ordinary words (国, 海, 平 …).
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康"
    "施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗"
    "谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景宫费卜冷晏"
    "席卫米柏宗瞿桂佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝封谈匡鞠惠荆乐冀郁胥"
    "南班储栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻厉伊仝郜阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿狄索宣晋初容敬扈晁芮阙"
    "浦戈伏鹿薄邸雍辜羊乌母裘亓修邰赫杭况宿鲜印逯隆茹诸慕银亢嵇湛宾戎勾茅揭尉冶斯束檀衣展阴昝智幸奉衡富尧"
)


def _join_spaced(tokens: list[str]) -> list[str]:
    """`方 敏` typeset with a space between the characters is one two-character name."""
    joined: list[str] = []
    for token in tokens:
        if joined and _SINGLE.match(token) and _SINGLE.match(joined[-1]):
            joined[-1] += token
        else:
            joined.append(token)
    return joined


def split_names(value: str) -> list[str]:
    """Personal names from `杜娟 陆致吉`, `王贤忠、李平`, `王乐文 方 敏` or `南都记者 余毅菁` (no roles)."""
    names = []
    for token in _join_spaced(_NAME_SPLIT.split(value)):
        part = _ROLE_PREFIX.sub("", token)
        if _NAME.match(part) and not _NOT_NAME.search(part) and part not in names:
            names.append(part)
    return names


def looks_like_person(name: str) -> bool:
    """Whether a 2-4 character word, standing alone, is a person's name rather than an organisation."""
    if not 2 <= len(name) <= 4 or ORGANISATION.search(name) or _NOT_NAME.search(name):
        return False
    if name[:2] in _COMPOUND_SURNAMES:
        return len(name) >= 3
    return name[0] in _SURNAMES and len(name) <= 3
