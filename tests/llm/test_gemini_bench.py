"""``interview bench gemini`` runs every kind of call against the fake (numbers are printed,
never asserted: this checks the wiring, with no simulated thinking so it is quick)."""

from __future__ import annotations

from server.bench.gemini import KINDS, format_rows, run_gemini_bench
from server.config import Settings


def test_the_gemini_bench_times_every_kind_of_call_with_its_configured_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, gemini_turn_thinking="medium", gemini_check_max_output_tokens=32
    )
    rows = run_gemini_bench(settings, repeats=1, thinking_delays_s={})
    assert [row.kind for row in rows] == list(KINDS)
    by_kind = {row.kind: row for row in rows}
    assert by_kind["turn"].thinking == "medium"
    assert by_kind["check"].max_output_tokens == 32
    assert by_kind["transcribe"].thinking == "model_default"
    assert all(row.tuned.latency_ms >= row.tuned.ttft_ms > 0 for row in rows)
    table = format_rows(rows, settings.gemini_model)
    assert all(f"\n{kind} " in table for kind in KINDS)
    assert "gemini-3.8-flash" in table
