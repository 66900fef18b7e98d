"""Ingestion on real, messy inputs (read from ../shared at run time) and on every file format."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_path
from knowledge.builder import IndexBuilder
from knowledge.catalog import load_catalog
from knowledge.embedding import shared_embedder
from knowledge.index_store import IndexStore
from knowledge.ingest.cleaning import BoilerplateCleaner
from knowledge.ingest.loaders import LoaderError, load_file
from knowledge.ingest.pipeline import DocumentReader, read_corpus
from knowledge.ingest.splitting import PassageSplitter
from knowledge.search import KnowledgeBase
from knowledge.textnorm import fold

# Headlines from the seed pages' sidebars ("Tin cùng chuyên mục", "Nổi bật"): never answers.
SIDEBAR_HEADLINES = ["múa trống bồng", "Công ước Hà Nội", "Chạm chữ", "Hương sen vương vấn",
                     "thưởng 250 triệu đồng", "Công đoàn phường Dương Nội"]


@pytest.fixture(scope="module")
def shared_kb(tmp_path_factory):
    """An index of every seed article and portal page, exactly as they come."""
    roots = [shared_path("seeds"), shared_path("reference", "dichvucong")]
    builder = IndexBuilder(IndexStore(tmp_path_factory.mktemp("shared-index")), shared_embedder(),
                           load_catalog())
    report = builder.build(roots)
    assert not report.errors, report.errors
    kb = KnowledgeBase(builder.store, builder.embedder, builder.catalog)
    kb.load()
    return kb, report


def test_every_shared_file_is_ingested(shared_kb):
    kb, report = shared_kb
    expected = len(list(shared_path("seeds").glob("*.txt"))) + \
        len(list(shared_path("reference", "dichvucong").glob("*.*")))
    assert report.documents == expected
    services = {p.service for p in kb.searcher.passages}
    assert {"thuong-tru", "tam-tru", "can-cuoc", "ho-chieu", "luu-tru", "tam-vang",
            "xac-nhan-so-dinh-danh"} <= services


def test_sidebar_headlines_never_reach_the_index(shared_kb):
    kb, _ = shared_kb
    for passage in kb.searcher.passages:
        for headline in SIDEBAR_HEADLINES:
            assert fold(headline) not in fold(passage.text), (headline, passage.passage_id)


@pytest.mark.parametrize("question", ["Điệu múa trống bồng làng Triều Khúc",
                                      "Lễ mở ký Công ước Hà Nội"])
def test_questions_about_sidebar_topics_get_article_content_not_sidebars(shared_kb, question):
    kb, _ = shared_kb
    for hit in kb.search(question, k=5):
        assert "trống bồng" not in hit.passage.text and "Công ước" not in hit.passage.text


@pytest.mark.parametrize("question, service, words", [
    ("Thủ tướng yêu cầu Hà Nội cắt giảm bao nhiêu phần trăm thủ tục hành chính",
     None, ["50%"]),
    # An unsectioned portal page: its chunks about the file score nearly alike, and which of
    # them names the form (CT01) first depends on the embedder; all are the page's own text.
    ("hồ sơ đăng ký thường trú gồm những gì", "thuong-tru", ["hồ sơ", "thường trú"]),
    ("khai báo tạm vắng nộp ở đâu", "tam-vang", ["Công an"]),
    ("trình báo mất hộ chiếu phổ thông", "ho-chieu", ["hộ chiếu"]),
])
def test_answers_come_from_the_real_article_content(shared_kb, question, service, words):
    kb, _ = shared_kb
    hits = kb.search(question, k=3)
    best = hits[0].passage
    if service:
        assert best.service == service, [(h.passage.service, h.passage.title) for h in hits]
    assert any(all(w in h.passage.text for w in words) for h in hits), best.text[:300]


def test_portal_page_loses_its_menu_and_footer():
    raw = load_file(shared_path("reference", "dichvucong", "doc_congdan_1.004222.txt")).text
    text = BoilerplateCleaner().clean(raw)
    assert text.startswith("Đăng ký thường trú")
    assert "Thanh toán vi phạm giao thông" not in text  # portal menu
    assert "Tổng đài hỗ trợ" not in text  # portal footer
    assert "Bước 1:" in text and "\nBước 2:" in text  # paragraphs restored


def test_seed_article_gets_its_headline_as_title_not_the_category():
    reader = DocumentReader(load_catalog())
    doc = reader.read(shared_path("seeds", "001_a1c03a21a5c5e11d.txt"), "seed-001")
    assert doc.title.startswith("Hà Nội tiên phong")
    assert "Bình luận" not in doc.text.splitlines()[0]


def test_passages_respect_the_size_limit_and_headings():
    splitter = PassageSplitter(max_chars=300)
    text = "# T\n\n## Lệ phí\n" + ("Câu văn về lệ phí. " * 60) + "\n\n## Thời gian giải quyết\nBa ngày."
    parts = splitter.split(text)
    assert all(len(p.text) <= 300 for p in parts)
    assert {p.heading for p in parts} == {"Lệ phí", "Thời gian giải quyết"}


# ---------------------------------------------------------------- formats
def make_html(path: Path) -> Path:
    path.write_text("""<html><head><title>Hướng dẫn đăng ký tạm trú</title></head><body>
      <nav><a href="/">Trang chủ</a> <a href="/tin">Tin tức</a></nav>
      <article><h1>Hướng dẫn đăng ký tạm trú</h1>
        <p>Người thuê trọ đăng ký tạm trú qua ứng dụng VNeID trong 30 ngày kể từ khi đến ở.</p>
        <h2>Giấy tờ</h2><ul><li>Tờ khai CT01</li><li>Hợp đồng thuê nhà</li></ul></article>
      <aside class="sidebar"><h3>Tin cùng chuyên mục</h3><p>Điệu múa trống bồng</p></aside>
      <script>alert('x')</script><footer>Bản quyền thuộc về cổng thông tin</footer>
    </body></html>""", encoding="utf-8")
    return path


def make_pdf(path: Path) -> Path:
    from fpdf import FPDF

    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf = FPDF()
    pdf.add_page()
    if font.exists():
        pdf.add_font("dejavu", fname=str(font))
        pdf.set_font("dejavu", size=12)
        text = "Cấp phiếu lý lịch tư pháp trên VNeID: đăng nhập tài khoản mức 2 và nộp tờ khai."
    else:  # no Unicode font on this machine: plain ASCII still proves the extraction path
        pdf.set_font("helvetica", size=12)
        text = "Cap phieu ly lich tu phap tren VNeID: dang nhap tai khoan muc 2 va nop to khai."
    pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Đăng ký khai sinh trực tuyến", level=1)
    document.add_heading("Các bước thực hiện", level=2)
    document.add_paragraph("Cha hoặc mẹ đăng nhập Cổng dịch vụ công, chọn liên thông khai sinh.")
    document.save(str(path))
    return path


def test_html_keeps_the_article_and_drops_navigation_sidebar_scripts(tmp_path):
    doc = DocumentReader(load_catalog()).read(make_html(tmp_path / "a.html"), "a")
    assert doc.service == "tam-tru"
    assert doc.title == "Hướng dẫn đăng ký tạm trú"
    assert "30 ngày" in doc.text and "- Tờ khai CT01" in doc.text
    for junk in ("Trang chủ", "trống bồng", "alert", "Bản quyền"):
        assert junk not in doc.text


def test_pdf_text_is_extracted(tmp_path):
    doc = DocumentReader(load_catalog()).read(make_pdf(tmp_path / "b.pdf"), "b")
    assert doc.service == "ly-lich-tu-phap"
    assert "VNeID" in doc.text


def test_docx_headings_become_sections(tmp_path):
    doc = DocumentReader(load_catalog()).read(make_docx(tmp_path / "c.docx"), "c")
    assert doc.service == "khai-sinh" and doc.title == "Đăng ký khai sinh trực tuyến"
    assert "## Các bước thực hiện" in doc.text


def test_unreadable_files_are_listed_and_the_rest_still_goes_in(tmp_path):
    make_html(tmp_path / "good.html")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "bad-front.md").write_text("---\ntitle: [unclosed\n---\nabc", encoding="utf-8")
    (tmp_path / "unknown-service.md").write_text(
        "---\ntitle: X\nservice: khong-co\n---\n" + "Nội dung dài đủ để không bị coi là rỗng. " * 3,
        encoding="utf-8")
    docs, errors = read_corpus([tmp_path], DocumentReader(load_catalog()))
    assert [d.doc_id for d in docs] == ["good"]
    reasons = {Path(e.path).name: e.reason for e in errors}
    assert set(reasons) == {"broken.pdf", "broken.docx", "empty.md", "bad-front.md",
                            "unknown-service.md"}
    assert "PDF" in reasons["broken.pdf"] and "DOCX" in reasons["broken.docx"]
    assert "empty" in reasons["empty.md"] and "catalog" in reasons["unknown-service.md"]


def test_unsupported_suffix_is_a_clear_error(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"data")
    with pytest.raises(LoaderError, match="unsupported file type"):
        load_file(path)
