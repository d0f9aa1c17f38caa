"""compose.yaml's stack: two gateways reachable through the proxy only, which they trust alone,
started after the migration and given time to drain."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.config import Settings

pytestmark = pytest.mark.backend_independent
COMPOSE: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "compose.yaml").read_text()
)
SERVICES: dict[str, Any] = COMPOSE["services"]
GATEWAYS = ["gateway-1", "gateway-2"]


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)s", value)
    assert match, f"expected a duration in seconds, got {value!r}"
    return float(match.group(1))


def test_two_gateways_sit_behind_the_proxy_and_publish_no_port() -> None:
    upstreams = SERVICES["proxy"]["environment"]["PROXY_UPSTREAMS"]
    assert re.findall(r"server\s+([\w-]+):8000", upstreams) == GATEWAYS
    for name in GATEWAYS:
        assert "ports" not in SERVICES[name], f"{name} is reachable without the proxy"
        assert SERVICES[name]["build"]["target"] == "server"
    assert SERVICES["proxy"]["build"]["target"] == "proxy"
    assert SERVICES["proxy"]["ports"]


def test_the_gateways_trust_the_proxys_fixed_address_only() -> None:
    address = SERVICES["proxy"]["networks"]["default"]["ipv4_address"]
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
    for name in GATEWAYS:
        assert SERVICES[name]["environment"]["INTERVIEW_TRUSTED_PROXIES"] == address


def test_gateways_start_after_the_migration_and_have_time_to_drain() -> None:
    grace = Settings.model_fields["shutdown_grace_s"].default
    for name in GATEWAYS:
        service = SERVICES[name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert seconds(service["stop_grace_period"]) > grace
        assert "--no-migrate" in service["command"]
    assert SERVICES["migrate"]["command"] == ["interview", "migrate"]
