"""Résumé upload: a PDF's or DOCX's text comes back for the interview's brief, and what cannot
be read is refused with a status and code that say why."""

from __future__ import annotations

import io

import httpx
import pytest
from docx import Document
from pypdf import PdfReader, PdfWriter

from server.config import Settings
from server.interview.schemas import MAX_RESUME_CHARS
from server.resumes import extract
from tests.conftest import bearer, register

URL = "/api/resumes/extract"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages show ``pages``' lines in Helvetica: a hand-written content stream."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages' numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids: list[int] = []
    for lines in pages:
        shown = b" ".join(f"({_escape(line)}) Tj 0 -16 Td".encode("latin-1") for line in lines)
        stream = b"BT /F1 12 Tf 72 720 Td " + shown + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


RESUME_LINES = ["Asha Rao, backend engineer", "Built Kafka pipelines and a Redis cache (p99 -40%)."]


def scanned_pdf() -> bytes:
    """A page with nothing on it as text, as a scan's image-only page reads."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([RESUME_LINES]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_file(paragraphs: list[str]) -> bytes:
    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Skills"
    table.rows[0].cells[1].text = "Python, PostgreSQL"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def _upload(
    client: httpx.AsyncClient, name: str, data: bytes, content_type: str, *, signed_in: bool = True
) -> httpx.Response:
    headers = bearer(await register(client)) if signed_in else {}
    return await client.post(URL, files={"file": (name, data, content_type)}, headers=headers)


async def test_a_pdf_resume_comes_back_as_its_text(client: httpx.AsyncClient) -> None:
    """The text layer of every page, cleaned, with the page count."""
    pdf = text_pdf([RESUME_LINES, ["Page two: PostgreSQL and FastAPI"]])
    response = await _upload(client, "cv.pdf", pdf, PDF)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "pdf" and body["pages"] == 2 and body["truncated"] is False
    assert "Built Kafka pipelines and a Redis cache (p99 -40%)." in body["text"]
    assert "PostgreSQL and FastAPI" in body["text"]


async def test_a_docx_resume_comes_back_with_its_paragraphs_and_tables(
    client: httpx.AsyncClient,
) -> None:
    data = docx_file(["Asha Rao", "Led the \u00a0 migration  to Kubernetes.", "", "", ""])
    response = await _upload(client, "cv.docx", data, DOCX)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "docx" and body["pages"] is None
    # Cleaned: runs of spaces (no-break ones too) and of blank lines collapsed.
    assert "Led the migration to Kubernetes." in body["text"]
    assert "\n\n\n" not in body["text"]
    assert "Skills Python, PostgreSQL" in body["text"]


async def test_a_file_over_the_apis_usual_body_cap_but_within_the_resume_limit_is_read(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The API refuses bodies over 512 KB; this route has its own limit (server/app.py)."""
    padding = settings.max_request_body_bytes + 100_000
    data = text_pdf([RESUME_LINES]) + b"%" + b"x" * padding
    response = await _upload(client, "cv.pdf", data, PDF)
    assert response.status_code == 200, response.text
    assert "Built Kafka pipelines" in response.json()["text"]


async def test_a_file_over_two_megabytes_is_refused_as_too_large(
    client: httpx.AsyncClient,
) -> None:
    data = text_pdf([RESUME_LINES]) + b"%" + b"x" * extract.MAX_BYTES
    response = await _upload(client, "cv.pdf", data, PDF)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "resume_too_large"
    assert "2 MB" in response.json()["detail"]


async def test_a_pdf_over_ten_pages_is_refused(client: httpx.AsyncClient) -> None:
    response = await _upload(client, "cv.pdf", text_pdf([RESUME_LINES] * 11), PDF)
    assert response.status_code == 413, response.text
    assert "11 pages" in response.json()["detail"]


async def test_an_encrypted_pdf_is_refused_with_a_way_out(client: httpx.AsyncClient) -> None:
    response = await _upload(client, "cv.pdf", encrypted_pdf(), PDF)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "resume_encrypted"
    assert "password" in response.json()["detail"]


async def test_a_scanned_pdf_without_a_text_layer_is_refused(client: httpx.AsyncClient) -> None:
    response = await _upload(client, "scan.pdf", scanned_pdf(), PDF)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "resume_no_text"


async def test_a_damaged_pdf_is_refused_as_unreadable(client: httpx.AsyncClient) -> None:
    response = await _upload(client, "cv.pdf", b"%PDF-1.4\n\x00garbage", PDF)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "resume_unreadable"


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
        ("cv.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "application/msword"),
        ("cv.pdf", b"not a pdf at all", PDF),  # the name and type say PDF; the bytes do not
    ],
)
async def test_a_file_that_is_not_a_resume_type_is_refused_as_unsupported(
    client: httpx.AsyncClient, name: str, data: bytes, content_type: str
) -> None:
    response = await _upload(client, name, data, content_type)
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "unsupported_resume_type"


async def test_a_signed_out_caller_cannot_upload(client: httpx.AsyncClient) -> None:
    response = await _upload(client, "cv.pdf", text_pdf([RESUME_LINES]), PDF, signed_in=False)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_a_text_resume_is_cleaned_like_typed_text(client: httpx.AsyncClient) -> None:
    response = await _upload(client, "cv.txt", b"Asha Rao\r\nRedis\x07 and Kafka\r\n", "text/plain")
    assert response.status_code == 200, response.text
    assert response.json()["text"] == "Asha Rao\nRedis and Kafka"


async def test_a_long_resume_is_capped_at_the_interview_limit(client: httpx.AsyncClient) -> None:
    """Cut at a line or word boundary, within the limit the interview's resume_text has."""
    text = ("Designed event-driven services on Kafka and Redis. " * 600).encode()
    response = await _upload(client, "cv.txt", text, "text/plain")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "txt" and body["truncated"] is True
    assert len(body["text"]) <= MAX_RESUME_CHARS
    assert body["text"].endswith(("Redis.", "Kafka", "and", "services", "on", "event-driven"))
    created = await client.post(
        "/api/interviews",
        json={"track": "backend", "level": "mid", "resume_text": body["text"]},
        headers=bearer(await register(client)),
    )
    assert created.status_code == 201, created.text
