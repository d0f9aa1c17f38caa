"""Choosing the recogniser from the settings."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from server.config import ConfigError, Settings
from server.voice.factory import make_recognizer
from server.voice.gemini import GeminiRecognizer
from server.voice.pocketsphinx import PocketsphinxRecognizer


def settings(**values: Any) -> Settings:
    values.setdefault("gemini_api_key", None)
    return Settings(_env_file=None, **values)


async def test_auto_uses_gemini_s_transcription_model_when_a_key_is_set() -> None:
    recognizer = make_recognizer(
        settings(gemini_api_key=SecretStr("k"), gemini_transcribe_model="gemini-x-transcribe")
    )
    try:
        assert isinstance(recognizer, GeminiRecognizer)
        assert (recognizer.name, recognizer.rough) == ("gemini-x-transcribe", False)
    finally:
        await recognizer.close()


async def test_auto_without_a_key_uses_pocketsphinx_with_the_configured_workers() -> None:
    recognizer = make_recognizer(settings(voice_workers=3))

    assert isinstance(recognizer, PocketsphinxRecognizer)
    assert (recognizer.name, recognizer.rough, recognizer.workers) == ("pocketsphinx", True, 3)
    await recognizer.close()


async def test_pocketsphinx_can_be_chosen_even_with_a_key() -> None:
    recognizer = make_recognizer(
        settings(voice_recognizer="pocketsphinx", gemini_api_key=SecretStr("k"))
    )

    assert isinstance(recognizer, PocketsphinxRecognizer)
    await recognizer.close()


def test_gemini_without_a_key_is_a_configuration_error_naming_the_settings() -> None:
    with pytest.raises(ConfigError) as raised:
        make_recognizer(settings(voice_recognizer="gemini"))

    assert "INTERVIEW_GEMINI_API_KEY" in str(raised.value)
    assert "INTERVIEW_VOICE_RECOGNIZER" in str(raised.value)
