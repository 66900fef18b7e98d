"""Question analysis: what kind of answer a citizen wants, about which aspect and which case.

"Bao nhiêu tuổi thì được làm bằng lái?" wants an age; "Thông báo 323 ban hành ngày nào?" a
date; "mất bao lâu?" a duration; "có phải xóa tạm trú cũ không?" a yes/no verdict. The
answer selector (selection.py) prefers sentences that contain that kind of answer, so the
reply states the fact instead of the section's first paragraph.

Everything works on folded text (no tone marks), so "bao nhieu tuoi" and "bao nhiêu tuổi"
are the same question. A message with several questions ("thủ tục thế nào? có bắt buộc
chụp ảnh không?") is cut into parts, each analysed on its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.answering.aspects import detect_aspects
from knowledge.bm25 import STOPWORDS
from knowledge.textnorm import fold, has_diacritics, nfc

# Kinds of answer. Each is recognised in a question by folded cue phrases and in a
# candidate sentence by a pattern (ANSWER_PATTERNS).
NUMBER, PERCENT, DATE, DURATION, FEE, AGE, PLACE, BODY = (
    "number", "percent", "date", "duration", "fee", "age", "place", "body")
DOCUMENTS, STEPS, VERDICT, FORM, PENALTY, LIST, WHO, DEFINITION = (
    "documents", "steps", "verdict", "form", "penalty", "list", "who", "definition")
EXEMPT = "exempt"  # who or what pays nothing: "không phải nộp lệ phí", "được miễn"
# Kinds precise enough that a sentence without one does not answer the question.
SPECIFIC_KINDS = frozenset({PERCENT, DATE, DURATION, FEE, EXEMPT, AGE, FORM, PENALTY})
KINDS = frozenset({NUMBER, PERCENT, DATE, DURATION, FEE, AGE, PLACE, BODY, DOCUMENTS, STEPS,
                   VERDICT, FORM, PENALTY, LIST, WHO, DEFINITION, EXEMPT})

# Each kind's folded cue phrases and answer pattern live in question_kinds.yml (content
# people can edit the vocabulary without touching code); loaded once at import.
KINDS_FILE = Path(__file__).with_name("question_kinds.yml")


def _load_kinds(path: Path) -> tuple[dict[str, list[str]], dict[str, re.Pattern]]:
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(table) - KINDS
    if unknown:
        raise ValueError(f"{path.name}: unknown kinds {sorted(unknown)}; known: {sorted(KINDS)}")
    cues = {kind: list(entry["cues"]) for kind, entry in table.items() if entry.get("cues")}
    patterns = {kind: re.compile("|".join(entry["answers"]))
                for kind, entry in table.items() if entry.get("answers")}
    return cues, patterns


ANSWER_CUES, ANSWER_PATTERNS = _load_kinds(KINDS_FILE)

# Kinds whose cue is a more specific question than the others in the same message
# ("bao nhiêu tuổi" beats "bao nhiêu"; "mẫu nào" beats "hồ sơ").
_SPECIFIC_FIRST = [PERCENT, AGE, DATE, DURATION, EXEMPT, FEE,
                   FORM, PENALTY, DEFINITION, BODY, PLACE,
                   DOCUMENTS, WHO, VERDICT, STEPS, LIST, NUMBER]

# Kinds a cue implies together: a fee question is also a number question, etc.
_IMPLIED = {PERCENT: [NUMBER], AGE: [NUMBER], FEE: [NUMBER], DURATION: [NUMBER],
            EXEMPT: [FEE],
            PENALTY: [FEE, NUMBER]}

# Words that name a specific case of a procedure: an answer about that case is better
# than a general one ("làm căn cước cho con dưới 14 tuổi", "bị mất", "nộp trực tiếp").
CASE_CUES: dict[str, list[str]] = {
    "child": ["cho con", "tre em", "tre so sinh", "so sinh", "duoi 14 tuoi", "duoi 6 tuoi",
              "chua thanh nien", "con toi", "be", "chau"],
    "elderly": ["nguoi cao tuoi", "nguoi gia", "tren 60", "cao tuoi"],
    "disability": ["khuyet tat"],
    "abroad": ["nuoc ngoai", "o nuoc ngoai", "viet kieu", "dinh cu"],
    "foreigner": ["nguoi nuoc ngoai", "yeu to nuoc ngoai", "quoc tich"],
    "lost": ["bi mat", "mat the", "mat giay", "lam mat", "that lac", "mat ho chieu", "bao mat",
             "danh roi", "danh mat", "roi mat"],
    "damaged": ["hu hong", "hong", "rach"],
    "wrong_data": ["sai thong tin", "sai sot", "nham", "dieu chinh", "sua thong tin", "sai"],
    "expired": ["het han", "qua han", "tre han", "muon"],
    "online": ["online", "truc tuyen", "qua mang", "tren mang", "vneid", "dich vu cong",
               "tren dien thoai", "ung dung"],
    "in_person": ["truc tiep", "den tru so", "tai tru so", "mot cua"],
    "hanoi": ["ha noi", "thu do"],
    "locked": ["bi khoa", "khoa tai khoan", "mo khoa"],
    "proxy": ["uy quyen", "lam thay", "nho nguoi", "lam ho"],
    "renewal": ["gia han"],
    "removal": ["xoa dang ky", "xoa tam tru", "xoa thuong tru", "huy"],
}

# "thế nào" / "ra sao" ask for the steps only about doing something; these say so anyway.
_STRONG_STEPS_RE = re.compile(r"(?<!\w)(cac buoc|lam the nao|cach lam|cach|huong dan|quy trinh|"
                              r"lam sao|trinh tu)(?!\w)")
_DOING = ("làm|đăng ký|đăng kí|xin|cấp|nộp|đổi|gia hạn|tích hợp|khai(?! sinh| tử)|tra cứu|"
          "kích hoạt|đăng nhập|thực hiện|chuyển|sang tên|tách|xóa|xoá|thanh toán|"
          "(?<!xác )nhận|cài đặt|"
          "sử dụng|dùng")
_DOING_RE = re.compile(rf"(?<!\w)({_DOING})(?!\w)")
_DOING_FOLDED_RE = re.compile(rf"(?<!\w)({fold(_DOING)})(?!\w)")
# Folded words that look like a doing word and are not ("đối với" folds like "đổi").
_NOT_DOING = re.compile(r"(?<!\w)(doi voi|doi tuong|nhan than|nhan dan|lam viec)(?!\w)")


# A question this short names only the procedure ("khai sinh cho con ra sao?"): its steps.
_SHORT_QUESTION = 4
_HOW_WORDS = frozenset("the nao nhu ra sao cho con toi minh em ban thi se duoc".split())


def _content_words(folded: str) -> list[str]:
    return [w for w in re.findall(r"\w+", folded) if w not in STOPWORDS and w not in _HOW_WORDS]


_CHOICE_RE = re.compile(r"(?<!\w)hay(?!\w)(?! khong| chua| la)")


_CHOICE_STOP = frozenset("thi nen nao hon nhanh tot re de duoc co la toi em minh".split())


def _alternatives(folded: str) -> tuple[str, ...]:
    """ "… đăng ký thường trú hay đăng ký tạm trú?" -> ("thuong tru", "tam tru"): what each
    side names, as patterns a sentence that weighs both must match. The right side loses the
    words it repeats from the left ("đăng ký"); the left side is as long as the right, or its
    last word when that word is its own ("online hay trực tiếp")."""
    match = _CHOICE_RE.search(folded)
    if not match:
        return ()
    left = re.findall(r"\w+", folded[:match.start()])
    right = re.findall(r"\w+", folded[match.end():])
    while right and right[0] in left[-4:]:
        right = right[1:]
    phrase: list[str] = []
    for word in right:
        if word in _CHOICE_STOP or len(phrase) == 2:
            break
        phrase.append(word)
    if not left or not phrase:
        return ()
    options = [" ".join(left[-len(phrase):])]
    if left[-1] not in phrase and len(phrase) > 1:
        options.append(left[-1])
    return ("(" + "|".join(re.escape(o) for o in options) + ")", re.escape(" ".join(phrase)))


def _doing(text: str) -> bool:
    """Whether the question is about doing something (typed with or without tone marks)."""
    if has_diacritics(text):
        return bool(_DOING_RE.search(nfc(text).lower()))
    return bool(_DOING_FOLDED_RE.search(_NOT_DOING.sub(" ", fold(text))))

_WHEN_RE = re.compile(r"(?<!\w)khi nao(?!\w)")
_DATE_STRICT_RE = re.compile(r"(?<!\w)(ngay nao|bao gio|tu khi nao|tu ngay nao|nam nao|thang nao|"
                             r"hieu luc|ban hanh|ky ngay)(?!\w)")

# A request to do a procedure, with no particular aspect: answer with its steps.
_REQUEST_CUES = ["toi muon", "em muon", "minh muon", "can lam", "muon xin", "muon lam",
                 "muon dang ky", "xin cap", "lam the nao de", "cach nao de", "lam sao de"]


def _cue_regex(cues: list[str]) -> re.Pattern:
    ordered = sorted(set(cues), key=len, reverse=True)
    return re.compile(r"(?<![\w%])(" + "|".join(re.escape(c) for c in ordered) + r")(?![\w])")


_KIND_RE = {kind: _cue_regex(cues) for kind, cues in ANSWER_CUES.items()}
_CASE_RE = {case: _cue_regex(cues) for case, cues in CASE_CUES.items()}
_REQUEST_RE = _cue_regex(_REQUEST_CUES)
# Where one question ends and the next begins inside a message.
_PART_SPLIT = re.compile(r"(?<=\?)\s+|(?<=[.!;])\s+(?=\S+[^.!;?]*\?)")
# "có ... không" with anything in between: a yes/no question.
_YES_NO = re.compile(r"(^|\s)(co|da|duoc|phai|can)\s.*\s(khong|chua)\s*\??\s*$")


@dataclass
class QuestionPart:
    """One question of a message."""

    text: str
    wanted: list[str] = field(default_factory=list)  # kinds of answer, most specific first
    aspects: list[str] = field(default_factory=list)  # procedure aspects cued, strongest first
    cases: list[str] = field(default_factory=list)  # specific cases named
    # "A hay B?": the two alternatives (folded), both named by a sentence that answers.
    alternatives: tuple[str, ...] = ()

    @property
    def kind(self) -> str | None:
        return self.wanted[0] if self.wanted else None


@dataclass
class QuestionAnalysis:
    text: str
    parts: list[QuestionPart]
    request: bool = False  # "tôi muốn xin …": the citizen wants to do it, no aspect asked

    def _merged(self, field_name: str) -> list[str]:
        """One field of every part, in order, each value once."""
        return list(dict.fromkeys(v for part in self.parts for v in getattr(part, field_name)))

    @property
    def wanted(self) -> list[str]:
        return self._merged("wanted")

    @property
    def aspects(self) -> list[str]:
        return self._merged("aspects")

    @property
    def cases(self) -> list[str]:
        return self._merged("cases")

    @property
    def wants_steps(self) -> bool:
        """Asked how to do it, or asked to do it, and nothing more specific."""
        specific = [k for k in self.wanted if k not in (STEPS, VERDICT, LIST, NUMBER, PLACE)]
        return not specific and (STEPS in self.wanted or self.request)


class QuestionAnalyzer:
    """Text -> QuestionAnalysis. Stateless and cheap (regular expressions on folded text)."""

    def analyze(self, text: str) -> QuestionAnalysis:
        text = nfc(text).strip()
        pieces = [p.strip() for p in _PART_SPLIT.split(text) if p and p.strip()]
        parts = [self.analyze_part(p) for p in pieces] or [self.analyze_part(text)]
        # Keep parts that ask something; a lead-in sentence ("Tôi ở Hà Nội.") adds its cases.
        asking = [p for p in parts if p.wanted or p.aspects] or parts[:1]
        lead_cases = [c for p in parts if p not in asking for c in p.cases]
        for part in asking:
            part.cases += [c for c in lead_cases if c not in part.cases]
        folded = fold(text)
        # "tôi muốn xin … thì có được không?" asks yes or no, not for the steps.
        request = bool(_REQUEST_RE.search(folded)) and asking[0].kind != VERDICT
        return QuestionAnalysis(text, asking, request)

    def analyze_part(self, text: str) -> QuestionPart:
        folded = " ".join(fold(text).replace("?", " ? ").split())
        found: list[tuple[int, str]] = []
        for kind in _SPECIFIC_FIRST:
            match = _KIND_RE[kind].search(folded)
            if not match:
                continue
            if kind == VERDICT and match.group(1) == "khong" and not _YES_NO.search(folded):
                continue  # "không" alone is a negation, not a yes/no question
            found.append((_SPECIFIC_FIRST.index(kind), kind))
        if _YES_NO.search(folded) and all(k != VERDICT for _, k in found):
            found.append((_SPECIFIC_FIRST.index(VERDICT), VERDICT))
        wanted: list[str] = []
        for _, kind in sorted(found):
            if kind not in wanted:
                wanted.append(kind)
        for kind in list(wanted):
            for implied in _IMPLIED.get(kind, []):
                if implied not in wanted:
                    wanted.append(implied)
        # "… khi nào?" asks for a date or for the occasion ("khi có nhu cầu", "khi đổi thẻ").
        if DATE in wanted and WHO not in wanted and _WHEN_RE.search(folded) and \
                not _DATE_STRICT_RE.search(folded):
            wanted.insert(wanted.index(DATE) + 1, WHO)
        # A bare "bao nhiêu" next to a more specific kind adds nothing.
        if len(wanted) > 1 and NUMBER in wanted and wanted.index(NUMBER) == 0:
            wanted.remove(NUMBER)
            wanted.append(NUMBER)
        cases = case_cues(folded)
        aspects = [a for a, _, _ in detect_aspects(text)]
        if STEPS in wanted and not _STRONG_STEPS_RE.search(folded) and not _doing(text) \
                and len(_content_words(folded)) > _SHORT_QUESTION:
            # "… ghi như thế nào?", "quy định ra sao?": how something is, not how to do it.
            wanted.remove(STEPS)
            aspects = [a for a in aspects if a != "steps"]
        return QuestionPart(text, wanted, aspects, cases, _alternatives(folded))


def matches_kind(folded_sentence: str, kind: str) -> bool:
    """Whether a (folded) sentence contains an answer of this kind."""
    pattern = ANSWER_PATTERNS.get(kind)
    return bool(pattern and pattern.search(folded_sentence))


def case_cues(folded_text: str) -> list[str]:
    return list(_case_cues(folded_text))


@lru_cache(maxsize=1 << 14)  # the same passages are checked for every question
def _case_cues(folded_text: str) -> tuple[str, ...]:
    return tuple(case for case, pattern in _CASE_RE.items() if pattern.search(folded_text))
