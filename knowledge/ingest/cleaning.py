"""Cleaning: remove page boilerplate from extracted text so it never becomes an answer.

Real inputs (news articles, portal pages) carry navigation menus, "Tin cùng chuyên mục"
sidebars with other headlines, comment boxes, share buttons and image file names. An
answer built from a sidebar headline is a wrong answer, so the cleaner is strict: it cuts
everything after the first end-of-article marker and drops short non-sentence lines.
"""
from __future__ import annotations

import re

from knowledge.textnorm import clean_spaces, fold, nfc

# Folded lines that start the "rest of the site" part of a news page.
_END_MARKERS = (
    "tin cung chuyen muc", "y kien ban doc", "bai lien quan", "tin lien quan", "binh luan",
    "noi bat", "dung bo lo", "doc them", "xem them", "tin khac", "cac tin khac", "tin moi nhat",
    "tin doc nhieu", "powered by", "gui binh luan", "viet binh luan", "tu khoa", "tags",
    "chia se bai viet", "ban quyen thuoc",
)
_END_RE = re.compile(r"^\(?\d*\)?\s*(" + "|".join(re.escape(m) for m in _END_MARKERS) + r")\b")
_NOISE_LINE = re.compile(
    r"(\.(jpe?g|png|gif|webp)\s*$)"          # image file names
    r"|(^[^.!?]{0,60}\b\d{1,2}[:h]\d{2}\b.{0,20}\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\s*$)"  # bylines with time+date
    r"|(^[^.!?]{0,60}\b\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\s+\d{1,2}[:h]\d{2}\s*$)"
    r"|( - anh \d+\s*$)"                      # "... - ảnh 1" photo captions
    r"|^(chia se|share|in bai|luu bai|quay lai|trang chu|dang nhap|dang ky)\s*$"
)
# National portal procedure pages: menu text before the procedure, footer after it.
_PORTAL_HEAD = re.compile(r"^.*?Chi tiết thủ tục hành chính\s*", re.S)
_PORTAL_FOOT = re.compile(r"\s*(Chọn cơ quan thực hiện|Cơ quan chủ quản: Văn phòng Chính phủ).*$", re.S)
_PORTAL_FIELDS = (
    "Bước \\d+:", "Trình tự thực hiện", "Cách thức thực hiện", "Thành phần hồ sơ",
    "Yêu cầu, điều kiện thực hiện", "Căn cứ pháp lý", "Cơ quan thực hiện", "Kết quả thực hiện",
    "Đối tượng thực hiện", "Thời hạn giải quyết", "Phí, lệ phí", "Lệ phí", "Hình thức nộp",
    "Mô tả", "Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính",
)
_PORTAL_SPLIT = re.compile(r"\s+(?=(" + "|".join(_PORTAL_FIELDS) + r"))")


class BoilerplateCleaner:
    """NFC-normalise, cut sidebars/comments/menus, drop noise lines and repeated lines."""

    def __init__(self, min_chars_before_end_marker: int = 200):
        self.min_chars_before_end_marker = min_chars_before_end_marker

    def clean(self, text: str) -> str:
        text = nfc(text).replace("\r\n", "\n").replace("\r", "\n")
        text = self._unfold_portal_page(text)
        kept: list[str] = []
        seen: set[str] = set()
        length = 0
        for line in text.split("\n"):
            stripped = line.strip()
            folded = fold(stripped).strip(" .:•-*#")
            if not stripped:
                kept.append("")
                continue
            if _END_RE.match(folded) and length >= self.min_chars_before_end_marker \
                    and len(folded.split()) <= 6:
                break
            if _NOISE_LINE.search(folded) or _is_byline(stripped):
                continue
            key = folded
            if key in seen and len(key) > 0:
                continue  # headlines and titles are often repeated by page templates
            seen.add(key)
            kept.append(stripped)
            length += len(stripped)
        kept = _drop_breadcrumbs(kept)
        return re.sub(r"\n{3,}", "\n\n", clean_spaces("\n".join(kept))).strip()

    @staticmethod
    def _unfold_portal_page(text: str) -> str:
        """A portal page arrives as one long line; cut menu/footer and restore paragraphs."""
        if "Chi tiết thủ tục hành chính" not in text or text.count("\n") > 20:
            return text
        body = _PORTAL_FOOT.sub("", _PORTAL_HEAD.sub("", text, count=1))
        body = body.replace("Xem chi tiết", "\n")
        return _PORTAL_SPLIT.sub("\n", body)


def _is_byline(line: str) -> bool:
    """An author name in capitals ("HÀ LINH"): short, no sentence punctuation."""
    words = line.split()
    return 1 <= len(words) <= 4 and line.isupper() and not any(c.isdigit() for c in line)


def _drop_breadcrumbs(lines: list[str]) -> list[str]:
    """Short category labels above the headline ("Sự kiện & Bình luận") are not content."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    for position, index in enumerate(content[:3]):
        line = lines[index].strip()
        if len(line.split()) >= 6:
            is_headline = len(line) < 200 and not line.endswith((".", ":", ";"))
            return lines[index:] if position and is_headline else lines
    return lines
