"""``interview bench subscription`` measures what the live subscription costs per message
(numbers are printed, never asserted: this checks the wiring, with few messages)."""

from __future__ import annotations

import pytest
from redis import Redis

from server.bench.subscription import format_rows, run_subscription_bench
from tests.conftest import REDIS_URL


@pytest.mark.needs_redis
def test_the_subscription_bench_counts_every_message_in_both_modes_and_cleans_up() -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        rows = run_subscription_bench(REDIS_URL, channels=20, messages=400, burst=50)
        assert [(row.mode, row.messages) for row in rows] == [
            ("bursts of 50", 400),
            ("one at a time", 40),
        ]
        assert all(row.cpu_us_per_message > 0 and row.seconds > 0 for row in rows)
        table = format_rows(rows, channels=20)
        assert "to 20 interviews" in table and "\nbursts of 50 " in table
        assert client.pubsub_channels("bench-sub-*") == []  # unsubscribed as it closed
    finally:
        client.close()
