"""The knowledge documents a citizen is answered from: provenance, FAQ depth, no contradictions.

What a citizen would notice: a citation that leads to a portal home page (or a news site)
instead of the rule; a fee or a processing time that differs depending on which document
answered; a procedure the assistant can only answer in general terms because its
"Câu hỏi thường gặp" has no entries for the common cases; facts nobody has re-checked.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from knowledge.catalog import load_catalog
from knowledge.documents_model import Document, sha256
from knowledge.ingest.loaders import split_front_matter
from knowledge.ingest.pipeline import DocumentReader, PassageMaker, discover, doc_id_for
from knowledge.ingest.provenance import (FigureClaim, contradictions, figure_claims,
                                         load_official_domains)
from knowledge.status import (DEFAULT_REVIEW_MAX_AGE_DAYS, REVIEW_MAX_AGE_ENV, StaleDocument,
                              review_max_age_days, stale_documents)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "knowledge" / "documents"
CATALOG = load_catalog(ROOT / "knowledge" / "catalog.yml")

# The 25 procedures citizens ask about most (identity, residence, civil status, travel,
# vehicles, insurance, tax, the portal itself): at least 8 FAQ entries each.
MOST_ASKED = [
    "can-cuoc", "thong-tin-dan-cu", "xac-nhan-so-dinh-danh", "dinh-danh-muc-1",
    "dinh-danh-muc-2", "vneid-tai-khoan", "thuong-tru", "tam-tru", "tam-vang", "luu-tru",
    "xac-nhan-cu-tru", "ly-lich-tu-phap", "khai-sinh", "khai-tu", "ket-hon", "ho-chieu",
    "giay-phep-lai-xe", "dang-ky-xe", "nop-phat-giao-thong", "bao-hiem-y-te", "bao-hiem-xa-hoi",
    "thue-dien-tu", "an-sinh-xa-hoi", "dang-ky-kinh-doanh", "cong-dich-vu-cong",
]
MIN_FAQ_MOST_ASKED = 8
MIN_FAQ_OTHER = 4
REQUIRED = ("title", "service", "kind", "source_url", "updated", "reviewed")
FAQ_HEADING = "Câu hỏi thường gặp"


def _files() -> list[Path]:
    return discover([DOCS])


def _front(path: Path) -> tuple[dict, str]:
    return split_front_matter(path.read_text(encoding="utf-8"))


def _faq_entries(body: str) -> list[tuple[str, str]]:
    """(question, answer) pairs of the document's "## Câu hỏi thường gặp" section."""
    match = re.search(rf"^## {FAQ_HEADING}\s*$(.*?)(?=^## |\Z)", body, re.S | re.M)
    if not match:
        return []
    parts = re.split(r"^### +(.+?)\s*$", match.group(1), flags=re.M)
    return [(parts[i].strip(), parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def _doc_id(path: Path) -> str:
    return doc_id_for(path, DOCS)


def test_the_catalog_and_the_most_asked_list_agree():
    assert len(MOST_ASKED) == len(set(MOST_ASKED)) == 25
    assert set(MOST_ASKED) <= set(CATALOG.ids)


# ---------------------------------------------------------------- front matter
@pytest.mark.parametrize("path", _files(), ids=_doc_id)
def test_front_matter_is_complete(path):
    meta, _ = _front(path)
    missing = [k for k in REQUIRED if not meta.get(k)]
    assert not missing, f"{_doc_id(path)}: front matter lacks {missing}"
    assert meta["service"] in CATALOG, f"{_doc_id(path)}: service {meta['service']!r} not in catalog"
    assert meta["kind"] in ("procedure", "policy", "help")
    updated = dt.date.fromisoformat(str(meta["updated"]))
    reviewed = dt.date.fromisoformat(str(meta["reviewed"]))
    assert reviewed <= dt.date.today() and updated <= dt.date.today(), "dates in the future"


@pytest.mark.parametrize("path", _files(), ids=_doc_id)
def test_source_url_is_a_specific_official_page(path):
    meta, _ = _front(path)
    problem = load_official_domains().problem(_doc_id(path), str(meta.get("source_url") or ""))
    assert not problem, f"{_doc_id(path)}: {problem}"


def test_procedures_name_their_legal_instrument():
    """A citation can show the rule's source only if the document names it."""
    without = [_doc_id(p) for p in _files()
               if _front(p)[0].get("kind") == "procedure" and not _front(p)[0].get("instrument")]
    # VNeID app features (social-security account, health book) have no instrument we are
    # sure of; everything else must name one.
    assert sorted(without) == ["procedure/an-sinh-xa-hoi", "procedure/ho-so-suc-khoe"]


def test_portal_procedure_links_use_the_portal_format():
    codes = []
    for path in _files():
        url = str(_front(path)[0]["source_url"])
        if "ma_thu_tuc=" in url:
            assert url.startswith("https://dichvucong.gov.vn/p/home/"
                                  "dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=")
            codes.append(url.rsplit("=", 1)[1])
    # Codes come from the portal pages we hold (../shared/reference/dichvucong/), never guessed.
    assert codes and all(re.fullmatch(r"[12]\.\d{6}", c) for c in codes)
    reference = ROOT.parent / "shared" / "reference" / "dichvucong"
    if reference.is_dir():
        known = {p.stem.rsplit("_", 1)[1] for p in reference.glob("doc_congdan_*.txt")}
        assert set(codes) <= known, f"procedure codes with no portal page: {set(codes) - known}"


def test_the_allow_list_refuses_what_is_not_an_official_page():
    domains = load_official_domains()
    assert domains.problem("x", "https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html") == ""
    assert "not an https page" in domains.problem("x", "http://dichvucong.gov.vn/p/home/x.html")
    assert "not an https page" in domains.problem("x", "https://thuvienphapluat.vn/van-ban/x")
    assert "not an https page" in domains.problem("x", "https://dichvucong.gov.vn.example.com/")
    assert "home page" in domains.problem("procedure/can-cuoc", "https://vneid.gov.vn/")
    assert "home page" in domains.problem("x", "https://dichvucong.gov.vn")
    assert domains.problem("procedure/ho-so-suc-khoe", "https://vneid.gov.vn/") == ""


# ---------------------------------------------------------------- FAQ depth and form
def test_every_catalog_id_has_enough_faq_entries():
    counts = {sid: 0 for sid in CATALOG.ids}
    for path in _files():
        meta, body = _front(path)
        counts[meta["service"]] += len(_faq_entries(body))
    short = {sid: n for sid, n in counts.items()
             if n < (MIN_FAQ_MOST_ASKED if sid in MOST_ASKED else MIN_FAQ_OTHER)}
    assert not short, f"catalog ids with too few FAQ entries: {short}"


@pytest.mark.parametrize("path", _files(), ids=_doc_id)
def test_faq_entries_are_questions_with_a_short_direct_answer(path):
    entries = _faq_entries(_front(path)[1])
    assert len(entries) >= MIN_FAQ_OTHER, f"{_doc_id(path)}: {len(entries)} FAQ entries"
    questions = [q for q, _ in entries]
    assert len(questions) == len(set(questions)), "a question is asked twice"
    for question, answer in entries:
        assert question.endswith("?"), question
        assert answer and not answer.startswith(("#", "-", "*")), f"{question}: no direct answer"
        first = re.split(r"(?<=[.!?])\s", answer, maxsplit=1)[0]
        assert 3 <= len(first.split()) <= 80, f"{question}: first sentence {first!r}"


@pytest.mark.parametrize("path", [p for p in _files() if _front(p)[0].get("kind") == "policy"],
                         ids=_doc_id)
def test_directive_summaries_give_figures_dates_and_names(path):
    """A citizen or journalist asks "bao nhiêu?", "khi nào?", "văn bản nào / ai?"."""
    meta, body = _front(path)
    text = " ".join(a for _, a in _faq_entries(body))
    assert re.search(r"\d+(?:[.,]\d+)?\s*(%|dịch vụ|thủ tục|nhiệm vụ|chỉ tiêu|kết quả|nhóm|"
                     r"tỷ|triệu|đồng|ngày|tháng|năm|địa phương|trung tâm)", text), "no figure"
    assert re.search(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\bnăm 20\d\d\b|\b20\d\d\b", text), "no date"
    assert re.search(r"\d+/(?:\d+/)?[A-ZĐ]+-[A-ZĐ]+|Thủ tướng|Chủ tịch|UBND|Bộ |Chính phủ",
                     text), "no instrument or name"


# ---------------------------------------------------------------- no contradictions
def _all_claims() -> list[FigureClaim]:
    claims = []
    for path in _files():
        meta, body = _front(path)
        claims += figure_claims(_doc_id(path), meta["service"], body)
    return claims


def test_no_two_documents_give_different_fees_or_times_for_the_same_procedure():
    claims = _all_claims()
    assert len(claims) >= 15, "the check found almost nothing to compare; is the extraction broken?"
    clashes = [f"{a.procedure} ({a.channel}, {a.kind}): {a.figure} in {a.doc_id} » {a.section} "
               f"vs {b.figure} in {b.doc_id} » {b.section}" for a, b in contradictions(claims)]
    assert not clashes, "\n".join(clashes)


def test_the_contradiction_check_catches_a_wrong_fee():
    one = "## Lệ phí\n\nLệ phí cấp đổi thẻ căn cước là 50.000 đồng/thẻ.\n"
    other = ("## Câu hỏi thường gặp\n\n### Đổi căn cước hết bao nhiêu tiền?\n\n"
             "Lệ phí cấp đổi thẻ căn cước là 30.000 đồng.\n")
    claims = figure_claims("a", "can-cuoc", one) + figure_claims("b", "can-cuoc", other)
    assert [(c.procedure, c.figure) for c in claims] == [("cap doi the can cuoc", "50000"),
                                                         ("cap doi the can cuoc", "30000")]
    assert len(contradictions(claims)) == 1
    # A different channel or a different procedure is not a contradiction.
    online = "## Lệ phí\n\nNộp trực tuyến, lệ phí cấp đổi thẻ căn cước là 25.000 đồng.\n"
    assert not contradictions(figure_claims("a", "can-cuoc", one)
                              + figure_claims("c", "can-cuoc", online))


# ---------------------------------------------------------------- ingestion of provenance
def _write(tmp_path: Path, front: str, body: str) -> Path:
    path = tmp_path / "procedure" / "x.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return path


BODY = ("# Cấp đổi thẻ căn cước\n\n## Lệ phí\n\nLệ phí cấp đổi thẻ căn cước là 50.000 đồng.\n\n"
        "## Thời gian giải quyết\n\nKhông quá 7 ngày làm việc kể từ khi nhận đủ hồ sơ.\n\n"
        "## Câu hỏi thường gặp\n\n### Đổi thẻ căn cước khi đủ 25 tuổi có mất phí không?\n\n"
        "Không, cấp đổi thẻ căn cước ở mốc 25 tuổi không phải nộp lệ phí.\n")


def test_provenance_reaches_every_passage(tmp_path):
    path = _write(tmp_path, 'title: "Cấp đổi"\nservice: can-cuoc\nkind: procedure\n'
                  'source_url: "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet'
                  '.html?ma_thu_tuc=2.001195"\ninstrument: "Luật Căn cước 2023"\n'
                  'updated: 2026-11-30\nreviewed: 2026-11-01\nsection_sources:\n'
                  '  "Lệ phí": "Thông tư 73/2024/TT-BTC"\n'
                  '  "Câu hỏi thường gặp": "Thông tư 73/2024/TT-BTC"\n', BODY)
    doc = DocumentReader(CATALOG).read(path, "procedure/x")
    assert (doc.instrument, doc.reviewed) == ("Luật Căn cước 2023", "2026-11-01")
    by_section = {p.section: p for p in PassageMaker().make(doc)}
    assert by_section["Lệ phí"].instrument == "Thông tư 73/2024/TT-BTC"
    assert by_section["Thời gian giải quyết"].instrument == "Luật Căn cước 2023"
    # An FAQ entry (### under "## Câu hỏi thường gặp") takes its section's source.
    faq = by_section["Đổi thẻ căn cước khi đủ 25 tuổi có mất phí không?"]
    assert faq.instrument == "Thông tư 73/2024/TT-BTC"
    assert {p.reviewed for p in by_section.values()} == {"2026-11-01"}
    assert "Thông tư" not in by_section["Lệ phí"].text  # the text a citizen reads is unchanged


def test_provenance_changes_the_hash_but_old_documents_keep_theirs():
    old = Document("d", "T", "can-cuoc", "text", source_url="https://x", updated="2025-01-01")
    legacy = sha256("|".join(["T", "can-cuoc", "procedure", "https://x", "2025-01-01", ""])
                    + "\ntext")
    assert old.content_hash == legacy  # no re-embedding for documents without the new fields
    new = Document("d", "T", "can-cuoc", "text", source_url="https://x", updated="2025-01-01",
                   instrument="Luật Căn cước 2023")
    reviewed = Document("d", "T", "can-cuoc", "text", source_url="https://x", updated="2025-01-01",
                        instrument="Luật Căn cước 2023", reviewed="2026-11-30")
    assert len({old.content_hash, new.content_hash, reviewed.content_hash}) == 3


@pytest.mark.parametrize("bad, message", [
    ("reviewed: sớm thôi\n", "reviewed must be a date"),
    ("section_sources: [Lệ phí]\n", "section_sources must map"),
])
def test_bad_provenance_is_refused_with_a_reason(tmp_path, bad, message):
    from knowledge.ingest.loaders import LoaderError

    path = _write(tmp_path, 'title: "Cấp đổi"\nservice: can-cuoc\nkind: procedure\n' + bad, BODY)
    with pytest.raises(LoaderError, match=message):
        DocumentReader(CATALOG).read(path, "procedure/x")


def test_real_documents_load_with_their_provenance():
    reader = DocumentReader(CATALOG)
    doc = reader.read(DOCS / "procedure" / "ly-lich-tu-phap.md", "procedure/ly-lich-tu-phap")
    assert doc.instrument == "Luật Lý lịch tư pháp 2009"
    fee = [p for p in PassageMaker().make(doc) if p.section == "Lệ phí"]
    assert fee and fee[0].instrument == "Thông tư 244/2016/TT-BTC"


# ---------------------------------------------------------------- documents due for review
def _doc(folder: Path, name: str, reviewed: str | None) -> None:
    line = f"reviewed: {reviewed}\n" if reviewed is not None else ""
    (folder / f"{name}.md").write_text(
        f'---\ntitle: "Tài liệu {name}"\nservice: can-cuoc\n{line}---\n# T\n\nNội dung.\n',
        encoding="utf-8")


def test_stale_documents_lists_old_and_never_reviewed_ones_in_a_fixed_order(tmp_path):
    for name, reviewed in [("b-old", "2025-01-10"), ("a-old", "2025-01-10"),
                           ("older", "2024-06-01"), ("fresh", "2026-11-01"), ("never", None)]:
        _doc(tmp_path, name, reviewed)
    (tmp_path / "README.md").write_text("hướng dẫn", encoding="utf-8")  # not a document
    today = dt.date(2026, 11, 30)
    stale = stale_documents(tmp_path, max_age_days=180, today=today)
    assert [d.doc_id for d in stale] == ["never", "older", "a-old", "b-old"]
    assert stale[0] == StaleDocument("never", "Tài liệu never", "", None)
    assert stale[1].reviewed == "2024-06-01" and stale[1].age_days == (today - dt.date(2024, 6, 1)).days
    assert stale[1].to_dict()["age_days"] == 912
    # The boundary: "fresh" is 29 days old; exactly max_age_days old is not yet stale.
    assert [d.doc_id for d in stale_documents(tmp_path, 28, today)] == \
        ["never", "older", "a-old", "b-old", "fresh"]
    assert "fresh" not in [d.doc_id for d in stale_documents(tmp_path, 29, today)]


def test_review_age_comes_from_the_environment():
    assert review_max_age_days({}) == DEFAULT_REVIEW_MAX_AGE_DAYS == 180
    assert review_max_age_days({REVIEW_MAX_AGE_ENV: "90"}) == 90
    for bad in ("-1", "nửa năm"):
        with pytest.raises(ValueError, match=REVIEW_MAX_AGE_ENV):
            review_max_age_days({REVIEW_MAX_AGE_ENV: bad})



def test_index_status_carries_the_review_list(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from knowledge.status import index_status, review_status

    _doc(tmp_path, "old", "2020-01-01")
    _doc(tmp_path, "new", dt.date.today().isoformat())
    settings = SimpleNamespace(docs_dir=tmp_path, index_dir=tmp_path / "no-index",
                               catalog_path=ROOT / "knowledge" / "catalog.yml",
                               embedding_model="m")
    monkeypatch.setenv(REVIEW_MAX_AGE_ENV, "365")
    review = index_status(settings)["review"]
    assert review["max_age_days"] == 365
    assert [d["doc_id"] for d in review["stale"]] == ["old"]
    assert set(review["stale"][0]) == {"doc_id", "title", "reviewed", "age_days"}
    bad = review_status(settings, {REVIEW_MAX_AGE_ENV: "abc"})
    assert bad["stale"] == [] and REVIEW_MAX_AGE_ENV in bad["error"]
