"""Résumé endpoints: /api/resumes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from server.auth.deps import CurrentUser
from server.errors import ErrorBody, ValidationErrorBody, error_responses
from server.resumes import extract

router = APIRouter(prefix="/api/resumes", tags=["resumes"])
# Its own request body limit (server/app.py): a résumé may exceed the API's usual cap.
UPLOAD_PATH = "/api/resumes/extract"


class ResumeExtracted(BaseModel):
    """The résumé's plain text, for an interview's ``resume_text``."""

    text: str = Field(description="Cleaned text, at most the length an interview keeps.")
    kind: Literal["pdf", "docx", "txt"]
    pages: int | None = Field(description="For a PDF: its page count.")
    truncated: bool = Field(description="True when the text was cut to fit.")


@router.post(
    "/extract",
    response_model=ResumeExtracted,
    responses={
        **error_responses(401, 413),
        415: {"model": ErrorBody, "description": "Not a PDF, DOCX or UTF-8 text file"},
        422: {
            "model": ErrorBody | ValidationErrorBody,
            "description": "No file sent, or a file with no text to read: encrypted, scanned "
            "(no text layer) or damaged (see code)",
        },
    },
)
async def extract_resume(
    _user: CurrentUser,
    file: Annotated[UploadFile, File(description="A PDF, DOCX or .txt résumé, up to 2 MB.")],
) -> ResumeExtracted:
    """The text of an uploaded résumé (PDF up to 10 pages, DOCX or text): nothing is stored."""
    data = await file.read(extract.MAX_BYTES + 1)
    result = await run_in_threadpool(
        extract.extract,
        data,
        filename=file.filename or "",
        content_type=file.content_type or "",
    )
    return ResumeExtracted(
        text=result.text, kind=result.kind, pages=result.pages, truncated=result.truncated
    )
