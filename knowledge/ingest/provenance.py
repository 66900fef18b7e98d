"""Provenance checks for knowledge documents: the allow-list of official source sites and a
small check that two documents do not give different fees or processing times."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from knowledge.ingest.splitting import SectionSplitter
from knowledge.textnorm import fold

OFFICIAL_DOMAINS_PATH = Path(__file__).resolve().parents[1] / "official_domains.yml"


@dataclass(frozen=True)
class OfficialDomains:
    domains: frozenset[str]
    bare_home_pages: frozenset[str] = frozenset()
    home_page_allowed: dict[str, str] = field(default_factory=dict)

    def is_official(self, url: str) -> bool:
        """An https URL whose host is exactly one of the listed official hosts."""
        parts = urlsplit(url or "")
        return parts.scheme == "https" and (parts.hostname or "") in self.domains

    def is_bare_home_page(self, url: str) -> bool:
        return _canonical(url) in {_canonical(u) for u in self.bare_home_pages}

    def problem(self, doc_id: str, url: str) -> str:
        """Why `url` is not an acceptable source for `doc_id` ("" when it is)."""
        if not url:
            return "no source_url"
        if not self.is_official(url):
            return f"{url} is not an https page of an official site in official_domains.yml"
        if self.is_bare_home_page(url) and \
                _canonical(self.home_page_allowed.get(doc_id, "")) != _canonical(url):
            return f"{url} is a bare portal home page; link the procedure or search page"
        return ""


def _canonical(url: str) -> str:
    return (url or "").strip().rstrip("/").lower()


def load_official_domains(path: str | Path = OFFICIAL_DOMAINS_PATH) -> OfficialDomains:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return OfficialDomains(
        domains=frozenset(str(d).strip().lower() for d in data.get("domains") or []),
        bare_home_pages=frozenset(str(u) for u in data.get("bare_home_pages") or []),
        home_page_allowed={str(k): str(v) for k, v in (data.get("home_page_allowed") or {}).items()},
    )


# ---------------------------------------------------------------- fee / time contradictions
# A small, honest check: in a fee section ("Lệ phí", or an FAQ question about a fee) or a
# processing-time section ("Thời gian giải quyết", or an FAQ question "mất bao lâu?"), a
# sentence that names exactly one procedure and states exactly one amount ("50.000 đồng") or
# one duration ("7 ngày làm việc") is a claim about that procedure and channel. Two claims with
# the same service, procedure, channel and kind but different figures contradict each other.
_FEE = re.compile(r"(\d{1,3}(?:\.\d{3})+|\d+)\s*(?:đồng|vnđ|vnd)\b", re.I)
_WORKING_DAYS = re.compile(r"(\d{1,3})\s*ngày\s*làm\s*việc", re.I)
_SENTENCE = re.compile(r"(?<=[.;!?])\s+")
# Folded procedure names; a sentence naming a longer one also contains the shorter ones,
# so only the longest names found count.
PROCEDURE_NAMES = (
    "cap doi the can cuoc", "cap lai the can cuoc", "cap the can cuoc", "dang ky thuong tru",
    "dang ky tam tru", "gia han tam tru", "xoa dang ky tam tru", "xoa dang ky thuong tru",
    "tach ho", "xac nhan thong tin ve cu tru", "khai bao tam vang", "thong bao luu tru",
    "cap ho chieu", "trinh bao mat ho chieu", "khoi phuc gia tri su dung ho chieu",
    "dang ky khai sinh", "dang ky ket hon", "xac nhan tinh trang hon nhan", "dang ky khai tu",
    "phieu ly lich tu phap", "giay phep lai xe", "dang ky xe", "muc do 1", "muc do 2",
)
_ONLINE = ("truc tuyen", "online", "qua mang", "vneid", "cong dich vu cong")
_IN_PERSON = ("truc tiep", "nop giay", "ban giay")


@dataclass(frozen=True)
class FigureClaim:
    service: str
    procedure: str   # folded procedure name
    channel: str     # "trực tuyến" | "trực tiếp" | "chung"
    kind: str        # "fee" (đồng) | "time" (ngày làm việc)
    figure: str      # digits only
    doc_id: str
    section: str


def _claim_kind(heading: str) -> str:
    h = fold(heading)
    if h == "le phi" or re.search(r"\b(phi|le phi|bao nhieu tien|mat tien)\b", h):
        return "fee"
    if h == "thoi gian giai quyet" or re.search(r"bao lau|may ngay|thoi gian|thoi han giai quyet", h):
        return "time"
    return ""


def _channel(folded: str) -> str:
    online = any(w in folded for w in _ONLINE)
    in_person = any(w in folded for w in _IN_PERSON)
    if online and not in_person:
        return "trực tuyến"
    if in_person and not online:
        return "trực tiếp"
    return "chung"


def figure_claims(doc_id: str, service: str, text: str) -> list[FigureClaim]:
    claims = []
    for section in SectionSplitter().split(text):
        kind = _claim_kind(section.heading)
        if not kind:
            continue
        pattern = _FEE if kind == "fee" else _WORKING_DAYS
        for sentence in _SENTENCE.split(section.text):
            folded = fold(sentence)
            names = [n for n in PROCEDURE_NAMES if n in folded]
            names = [n for n in names if not any(n != m and n in m for m in names)]
            figures = {m.group(1).replace(".", "").lstrip("0") or "0"
                       for m in pattern.finditer(sentence)}
            if len(names) == 1 and len(figures) == 1:
                claims.append(FigureClaim(service, names[0], _channel(folded), kind,
                                          figures.pop(), doc_id, section.heading))
    return claims


def contradictions(claims: list[FigureClaim]) -> list[tuple[FigureClaim, FigureClaim]]:
    """Pairs of claims about the same service, procedure, channel and kind that disagree."""
    first: dict[tuple, FigureClaim] = {}
    found = []
    for claim in claims:
        key = (claim.service, claim.procedure, claim.channel, claim.kind)
        seen = first.setdefault(key, claim)
        if seen.figure != claim.figure:
            found.append((seen, claim))
    return found
