"""The recogniser the settings ask for.

Recognisers are imported when made: choosing pocketsphinx does not load the Gemini SDK.
"""

from __future__ import annotations

from server.config import ConfigError, Settings
from server.llm.base import UsageSink
from server.voice.base import Recognizer


def make_recognizer(settings: Settings, usage_sink: UsageSink | None = None) -> Recognizer:
    """``INTERVIEW_VOICE_RECOGNIZER``: gemini, pocketsphinx, or auto (Gemini when a key is
    set). ``usage_sink`` receives each Gemini transcription's CallRecord.

    Raises ConfigError when Gemini is asked for without a key.
    """
    choice = settings.voice_recognizer
    if choice == "auto":
        choice = "gemini" if settings.gemini_api_key is not None else "pocketsphinx"
    if choice == "pocketsphinx":
        from server.voice.pocketsphinx import PocketsphinxRecognizer

        return PocketsphinxRecognizer(settings.voice_workers)
    if settings.gemini_api_key is None:
        raise ConfigError(
            "INTERVIEW_VOICE_RECOGNIZER is gemini but INTERVIEW_GEMINI_API_KEY is not set: "
            "set the key, or choose pocketsphinx (or auto) for the embedded recogniser."
        )
    from server.llm import gemini_tuning
    from server.voice.gemini import GeminiRecognizer

    return GeminiRecognizer(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.gemini_transcribe_model,
        base_url=settings.gemini_base_url,
        api_version=settings.gemini_api_version,
        prices=dict(settings.gemini_prices),
        usage_sink=usage_sink,
        tuning=gemini_tuning(settings)["transcribe"],
    )
