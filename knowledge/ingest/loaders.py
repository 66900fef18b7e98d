"""Loaders: turn a file of any supported format into raw text plus front-matter metadata.

Each loader does one job: read bytes, extract text. Cleaning and splitting come later.
Supported: Markdown with YAML front matter, plain text, HTML, PDF, DOCX.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


class LoaderError(Exception):
    """A file could not be read; the message says why in plain words."""


@dataclass
class RawDocument:
    path: Path
    text: str
    meta: dict = field(default_factory=dict)
    format: str = "text"


def split_front_matter(text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise LoaderError(f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise LoaderError("front matter must be a YAML mapping")
    return meta, text[match.end():]


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoaderError(f"{path.name}: not UTF-8 text")


class MarkdownLoader:
    formats = (".md", ".markdown")

    def load(self, path: Path, data: bytes) -> RawDocument:
        meta, body = split_front_matter(_decode(data, path))
        return RawDocument(path, body, meta, "markdown")


class TextLoader:
    formats = (".txt",)

    def load(self, path: Path, data: bytes) -> RawDocument:
        meta, body = split_front_matter(_decode(data, path))
        return RawDocument(path, body, meta, "text")


class HtmlLoader:
    """HTML -> text with headings kept as Markdown headings; scripts, menus and footers dropped."""

    formats = (".html", ".htm")
    _DROP = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form",
             "iframe", "svg", "button", "select"]

    def load(self, path: Path, data: bytes) -> RawDocument:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(data, "lxml")
        meta = {}
        if soup.title and soup.title.string:
            meta["title"] = soup.title.string.strip()
        for tag in soup(self._DROP):
            tag.decompose()
        # Common CMS class names for sidebars and comment boxes.
        for tag in soup.select('[class*="sidebar"], [class*="comment"], [class*="related"], '
                               '[class*="menu"], [id*="sidebar"], [id*="comment"], [class*="share"]'):
            tag.decompose()
        root = soup.find("article") or soup.find("main") or soup.body or soup
        lines = []
        for el in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "td", "pre", "blockquote"]):
            if el.find(["p", "li", "h1", "h2", "h3", "h4"]):
                continue  # a container; its children are visited themselves
            text = " ".join(el.get_text(" ", strip=True).split())
            if not text:
                continue
            if el.name in ("h1", "h2", "h3", "h4"):
                level = 1 if el.name == "h1" else 2
                lines.append("#" * level + " " + text)
            elif el.name == "li":
                lines.append("- " + text)
            else:
                lines.append(text)
        if not lines:
            lines = [" ".join(root.get_text(" ", strip=True).split())]
        return RawDocument(path, "\n\n".join(lines), meta, "html")


class PdfLoader:
    formats = (".pdf",)

    def load(self, path: Path, data: bytes) -> RawDocument:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            reader = PdfReader(io.BytesIO(data))
            pages = [page.extract_text() or "" for page in reader.pages]
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise LoaderError(f"{path.name}: unreadable PDF ({exc})") from exc
        meta = {}
        info = reader.metadata
        if info and info.title:
            meta["title"] = str(info.title)
        text = "\n\n".join(pages).strip()
        if not text:
            raise LoaderError(f"{path.name}: PDF has no extractable text (scanned image?)")
        return RawDocument(path, text, meta, "pdf")


class DocxLoader:
    formats = (".docx",)

    def load(self, path: Path, data: bytes) -> RawDocument:
        import docx
        from docx.opc.exceptions import PackageNotFoundError

        try:
            document = docx.Document(io.BytesIO(data))
        except (PackageNotFoundError, KeyError, ValueError) as exc:
            raise LoaderError(f"{path.name}: unreadable DOCX ({exc})") from exc
        except Exception as exc:  # zipfile.BadZipFile and friends
            raise LoaderError(f"{path.name}: unreadable DOCX ({exc.__class__.__name__})") from exc
        lines = []
        for para in document.paragraphs:
            text = para.text.strip()
            if not text:
                continue
            style = (para.style.name or "").lower() if para.style is not None else ""
            if style.startswith("heading") or style == "title":
                level = 1 if style in ("title", "heading 1") else 2
                lines.append("#" * level + " " + text)
            else:
                lines.append(text)
        meta = {}
        if document.core_properties.title:
            meta["title"] = document.core_properties.title
        return RawDocument(path, "\n\n".join(lines), meta, "docx")


_LOADERS = [MarkdownLoader(), TextLoader(), HtmlLoader(), PdfLoader(), DocxLoader()]


def load_file(path: str | Path) -> RawDocument:
    """Read one file with the loader for its suffix; raises LoaderError with a clear reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    loader = next((l for l in _LOADERS if suffix in l.formats), None)
    if loader is None:
        raise LoaderError(f"{path.name}: unsupported file type '{suffix or '(none)'}' "
                          f"(supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise LoaderError(f"{path.name}: file is empty")
    return loader.load(path, data)
