"""Text that people type, made safe once at the edge: every field that stores or shows it.

Normalised: Unicode NFC; line breaks as ``\\n``; control characters (C0 other than tab and
line feed, DEL, C1) removed, NUL included, since nobody means to type them and the
database refuses NUL. Refused: lone surrogates (half a character: the text was mangled
before it reached us). Length bounds apply to what arrives; a value left blank by the
clean-up is refused where the field must not be empty.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_NEWLINES = re.compile(r"\r\n?")
# C0 controls except \t and \n, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` normalised as above; ValueError if it holds half a character."""
    if _SURROGATE.search(value):
        raise ValueError("contains an invalid character (an unpaired UTF-16 surrogate)")
    value = _CONTROL.sub("", _NEWLINES.sub("\n", value))
    return unicodedata.normalize("NFC", value)


def scrub(value: str) -> str:
    """Machine-made text (a model's words) made storable the same way, never refused:
    half characters become U+FFFD."""
    return clean_text(_SURROGATE.sub("\ufffd", value))


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain some text")
    return value


# Free text (may be empty): résumés, job descriptions.
Text = Annotated[str, AfterValidator(clean_text)]
# Free text that must say something once cleaned: answers.
NonBlankText = Annotated[str, AfterValidator(clean_text), AfterValidator(_not_blank)]
