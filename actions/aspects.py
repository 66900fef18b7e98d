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


def detect_aspect(text: str) -> tuple[str, int, int] | None:
    """(aspect, start, end) of the most specific cue in `text`, offsets in folded text."""
    best = None
    for match in _CUE_RE.finditer(fold(text)):
        cue = match.group(1)
        if best is None or len(cue) > len(best[3]):
            best = (_CUE_ASPECT[cue], match.start(), match.end(), cue)
    return best[:3] if best else None


def section_matches(section: str, aspect: str | None) -> bool:
    return bool(aspect) and fold(section).startswith(fold(ASPECT_SECTIONS.get(aspect, "\0")))
