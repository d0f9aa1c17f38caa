"""The one set of rules for text people type (server/text.py)."""

from __future__ import annotations

import pytest

from server.text import clean_text, scrub


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        ("a\x00b", "ab"),
        ("tab\tand\nline", "tab\tand\nline"),
        ("windows\r\nmac\rend", "windows\nmac\nend"),
        ("del\x7f c1\x85 esc\x1b", "del c1 esc"),
        ("e\u0301", "\u00e9"),  # NFC
        ("हिन्दी। 東京 🎤", "हिन्दी। 東京 🎤"),
    ],
)
def test_text_is_normalised(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_half_a_character_is_refused_from_people_and_replaced_from_machines() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        clean_text("broken \ud800 text")
    assert scrub("broken \ud800 text\x00") == "broken \ufffd text"
