"""Photo captions and image labels, told apart from body paragraphs and sub-headings.

A caption is a short line describing a photo: `座谈会现场`, `县委书记李俊宏认真倾听教师代表发言`,
`岳塘区教育局党委书记、局长徐进。`. A sub-heading such as `凌永航指出` (a name and a verb of
speech that the next paragraph continues) or `持续加强党对教育工作的全面领导` stays in the body.
"""

from __future__ import annotations

import re

_IMAGE_LABEL = re.compile(r"^(?:[\[【]\s*图片?\s*[\]】]|图片(?=[\u4e00-\u9fff]))\s*")
_CAPTION_MAX_LENGTH = 40
_INNER_PUNCTUATION = re.compile(r"[，,；;：:！!？?]|。(?!$)")
_POSITION = (
    r"(?:书记|副书记|县长|副县长|区长|副区长|市长|副市长|局长|副局长|主任|副主任|校长|副校长|部长|副部长"
    r"|主席|副主席|委员|常委|院长|园长|厅长|省长|镇长|乡长|社长|总编辑|董事长)"
)
_NAME = r"[\u4e00-\u9fff]{2,3}"
# Photo words: the scene (现场, 合影), the credit (摄, 供图), or an explicit 图为.
_PHOTO_WORDS = re.compile(
    r"(现场|合影|留影|掠影|一角|剪影|场景|瞬间|全景|特写)$|^图为|^(摄影|图片来源)|[(（](摄|供图)[)）]$|供图$"
)
# An official named by position, then doing something a photo shows.
_PHOTO_ACTION = re.compile(
    rf"{_POSITION}{_NAME}(?:在|正在|认真|仔细|亲切|与|向|为|同|带队|一行)?"
    r"(?:倾听|听取|查看|察看|视察|调研|慰问|看望|参观|指导|检查|讲话|发言|致辞|主持|颁奖|交流|询问|了解)"
)
# A portrait: a position and a name, and nothing after but a full stop.
_PORTRAIT = re.compile(rf"{_POSITION}{_NAME}。?$")
_SPEECH_HEADING = re.compile(r"(指出|强调|要求|表示|认为|说|提出)$")
_NAMES = r"[\u4e00-\u9fff]{2,4}(?:\s*[、,，]\s*[\u4e00-\u9fff]{2,4})*"
# The photographer's credit closing a caption: `（刘通摄）`, ` 李尕 摄`, `。新华社记者 才扬 摄`. Without
# parentheses it must stand apart (after a space or a sentence end): `县电视台拍摄` is no credit.
_PHOTO_CREDIT = re.compile(
    rf"(?:[(（]\s*(?:[\u4e00-\u9fff]{{0,6}}?(?:记者|通讯员)\s*)?(?:{_NAMES})?\s*/?\s*摄影?\s*[)）]"
    rf"|(?<=[\s。！？!?])\s*(?:[\u4e00-\u9fff]{{0,6}}?(?:记者|通讯员)\s*)?{_NAMES}\s*/?\s*摄影?)$"
)


def strip_image_label(line: str) -> str:
    """Remove an image label glued to a paragraph: `图片区委副书记…` → `区委副书记…`."""
    return _IMAGE_LABEL.sub("", line, count=1)


def is_caption(line: str) -> bool:
    """Whether a short line is a photo caption rather than body text or a sub-heading."""
    line = line.strip()
    credit = _PHOTO_CREDIT.search(line)
    if credit:
        # A photographer's credit makes a short line a caption, whatever punctuation it has.
        return 0 < len(line[: credit.start()].strip()) <= _CAPTION_MAX_LENGTH
    if not line or len(line) > _CAPTION_MAX_LENGTH or _INNER_PUNCTUATION.search(line):
        return False
    if _SPEECH_HEADING.search(line):
        return False
    if line.startswith("图为") or _PORTRAIT.search(line):
        return True
    # A short sentence with a full stop (`会议由县委副书记张三主持。`) is body text.
    if line.endswith("。"):
        return False
    return bool(_PHOTO_WORDS.search(line) or _PHOTO_ACTION.search(line))
