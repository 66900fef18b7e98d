"""Aspects of a procedure a citizen asks about, and the document sections that answer them.

Documents use fixed `##` headings (see knowledge/documents/README.md); each aspect maps
to one of them so "mất bao lâu?" is answered from "Thời gian giải quyết".
"""
from __future__ import annotations

import re

from knowledge.textnorm import fold

ASPECT_SECTIONS = {
    "eligibility": "Ai có thể làm",
    "channel": "Làm trực tuyến ở đâu",
    "steps": "Các bước thực hiện",
    "documents": "Giấy tờ cần chuẩn bị",
    "fee": "Lệ phí",
    "time": "Thời gian giải quyết",
    "help": "Hỏi thêm ở đâu",
}

ASPECT_LABELS = {
    "eligibility": "ai được làm",
    "channel": "nộp ở đâu",
    "steps": "các bước",
    "documents": "giấy tờ cần có",
    "fee": "lệ phí",
    "time": "thời gian giải quyết",
    "help": "nơi hỗ trợ",
}

# Folded cue phrases; longer phrases are tried first.
ASPECT_CUES = {
    "fee": ["le phi", "phi", "bao nhieu tien", "mat tien", "ton tien", "chi phi", "mien phi",
            "tien", "gia bao nhieu", "nop tien", "het bao nhieu"],
    "time": ["bao lau", "thoi gian", "may ngay", "bao nhieu ngay", "thoi han", "khi nao co",
             "mat may ngay", "lau khong", "bao gio co", "trong bao lau", "ngay lam viec"],
    "documents": ["giay to", "ho so gom", "can gi", "can nhung gi", "chuan bi", "mang theo",
                  "thanh phan ho so", "can mang", "ho so can", "can giay"],
    "steps": ["cac buoc", "lam the nao", "the nao", "nhu the nao", "cach lam",
              "cach", "huong dan", "quy trinh", "lam sao", "trinh tu"],
    "channel": ["o dau", "noi nao", "nop o", "co quan nao", "lam online", "truc tuyen duoc",
                "online duoc", "tren ung dung", "tren vneid", "qua mang", "cho nao"],
    "eligibility": ["ai duoc", "dieu kien", "doi tuong", "co duoc", "duoc khong",
                    "bao nhieu tuoi", "ai phai", "ai co the", "co phai"],
    "help": ["hoi ai", "lien he", "tong dai", "hotline", "ho tro", "hoi them", "hoi o dau"],
}

_CUES = sorted(((fold(c), a) for a, cues in ASPECT_CUES.items() for c in cues),
               key=lambda item: len(item[0]), reverse=True)
_CUE_RE = re.compile(r"(?<!\w)(" + "|".join(re.escape(c) for c, _ in _CUES) + r")(?!\w)")
_CUE_ASPECT = {c: a for c, a in _CUES}


# "qua mạng", "làm thế nào", "online được không" often only qualify what is asked
# ("khai sinh qua mạng cần gì?" asks for documents): they lose to any other aspect's cue.
WEAK_ASPECTS = ("channel", "steps", "eligibility")


def detect_aspects(text: str) -> list[tuple[str, int, int]]:
    """Every aspect cued in `text`, strongest first: (aspect, start, end) in folded text."""
    found: dict[str, tuple[int, int, int]] = {}
    for match in _CUE_RE.finditer(fold(text)):
        aspect = _CUE_ASPECT[match.group(1)]
        length = match.end() - match.start()
        if aspect not in found or length > found[aspect][0]:
            found[aspect] = (length, match.start(), match.end())
    ranked = sorted(found.items(), key=lambda kv: (kv[0] in WEAK_ASPECTS, -kv[1][0], kv[1][1]))
    return [(aspect, start, end) for aspect, (_, start, end) in ranked]


def detect_aspect(text: str) -> tuple[str, int, int] | None:
    """(aspect, start, end) of the strongest cue in `text`, offsets in folded text."""
    found = detect_aspects(text)
    return found[0] if found else None


def section_matches(section: str, aspect: str | None) -> bool:
    return bool(aspect) and fold(section).startswith(fold(ASPECT_SECTIONS.get(aspect, "\0")))
