"""A résumé file's plain text: PDF (its text layer), DOCX or UTF-8 text, cleaned like typed
text and capped at the length an interview keeps. Refusals are domain errors with codes."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Literal

from server.errors import AppError
from server.interview.schemas import MAX_RESUME_CHARS
from server.text import scrub

MAX_BYTES = 2 * 1024 * 1024
MAX_PAGES = 10
# A DOCX is a zip: what it may hold once unpacked, so a small file cannot expand without end.
MAX_UNPACKED_BYTES = 40 * 1024 * 1024

Kind = Literal["pdf", "docx", "txt"]


class ResumeTooLarge(AppError):
    status_code = 413
    code = "resume_too_large"


class UnsupportedResumeType(AppError):
    status_code = 415
    code = "unsupported_resume_type"

    def __init__(self) -> None:
        super().__init__(
            "Expected a PDF, a Word document (.docx) or a plain text file; this file is none "
            "of them. Save it as PDF or DOCX and try again."
        )


class UnreadableResume(AppError):
    """A PDF or DOCX the server cannot get text from (422: the file, not the request, is wrong)."""

    status_code = 422
    code = "resume_unreadable"


class EncryptedResume(UnreadableResume):
    code = "resume_encrypted"

    def __init__(self) -> None:
        super().__init__(
            "This PDF is password-protected. Remove the password (or print it to a new PDF) "
            "and upload it again."
        )


class ScannedResume(UnreadableResume):
    code = "resume_no_text"

    def __init__(self) -> None:
        super().__init__(
            "This PDF has no text to read: it looks like a scan or an image. Upload the PDF "
            "your editor exported, a DOCX, or paste the text instead."
        )


@dataclass(frozen=True, slots=True)
class ResumeText:
    text: str
    kind: Kind
    pages: int | None  # for a PDF
    truncated: bool  # cut at the résumé length limit


def kind_of(data: bytes, filename: str, content_type: str) -> Kind:
    """What the file is, by its bytes (a name or a declared type can say anything)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile as exc:
            raise UnreadableResume("This file looks like a Word document but is damaged.") from exc
        raise UnsupportedResumeType()
    textual = filename.lower().endswith(".txt") or content_type.startswith("text/plain")
    if textual and b"\x00" not in data:
        return "txt"
    raise UnsupportedResumeType()


def extract(data: bytes, *, filename: str = "", content_type: str = "") -> ResumeText:
    """The résumé's text; raises the refusals above. Blocking: run it in a thread."""
    if len(data) > MAX_BYTES:
        raise ResumeTooLarge(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; a résumé may be up to "
            f"{MAX_BYTES // (1024 * 1024)} MB."
        )
    kind = kind_of(data, filename, content_type)
    pages: int | None = None
    if kind == "pdf":
        raw, pages = _pdf_text(data)
    elif kind == "docx":
        raw = _docx_text(data)
    else:
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableResume("This text file is not UTF-8; save it as UTF-8.") from exc
    text = tidy(raw)
    if not text and kind == "pdf":
        raise ScannedResume()
    if not text:
        raise UnreadableResume("This file has no text in it.")
    capped = cap(text)
    return ResumeText(text=capped, kind=kind, pages=pages, truncated=len(capped) < len(text))


def _pdf_text(data: bytes) -> tuple[str, int]:
    from pypdf import PdfReader  # loaded on first use: most processes never read a PDF

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedResume()
        pages = len(reader.pages)
        if pages > MAX_PAGES:
            raise ResumeTooLarge(f"The PDF has {pages} pages; a résumé may have up to {MAX_PAGES}.")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages), pages
    except (UnreadableResume, ResumeTooLarge):
        raise
    except Exception as exc:  # a damaged file fails in many ways deep in the parser
        raise UnreadableResume("This PDF is damaged or not a PDF the server can read.") from exc


def _docx_text(data: bytes) -> str:
    from docx import Document

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise UnreadableResume("This Word document unpacks to far more than a résumé.")
        document = Document(io.BytesIO(data))
        lines = [paragraph.text for paragraph in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                lines.append("\t".join(cell.text for cell in row.cells))
        return "\n".join(lines)
    except UnreadableResume:
        raise
    except Exception as exc:  # as for PDFs: damage surfaces as any error of the parser
        raise UnreadableResume("This Word document is damaged or cannot be read.") from exc


_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(raw: str) -> str:
    """Typed-text rules (server/text.py), then runs of spaces and blank lines collapsed."""
    lines = [_SPACES.sub(" ", line).strip() for line in scrub(raw).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def cap(text: str, limit: int = MAX_RESUME_CHARS) -> str:
    """``text`` within ``limit`` characters, cut at a line or word boundary when it must be."""
    if len(text) <= limit:
        return text
    window = text[:limit]
    cut = window.rfind("\n")
    if cut < limit * 0.8:
        cut = window.rfind(" ")
    return (window[:cut] if cut > 0 else window).rstrip()
