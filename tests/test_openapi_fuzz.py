"""Schemathesis against a real server and the OpenAPI document it serves.

Every operation, signed out and signed in: no server error, no status code the document
does not declare, every answer conforming to its declared schema (and unsupported methods
answered 405 with ``Allow``). Bounded for the suite;
``FUZZ_EXAMPLES=200 .venv/bin/pytest tests/test_openapi_fuzz.py -s`` runs longer, with a
random seed, and prints what it ran.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from server.app import create_app
from server.config import Settings
from tests.conftest import make_settings, unique_email
from tests.fakes.razorpay import running_in_a_thread
from tests.server_thread import ServerThread

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
LONG_RUN = "FUZZ_EXAMPLES" in os.environ
PASSWORD = "fuzz-password-long"


@dataclass
class Account:
    """A signed-in candidate; signs in again when a fuzzed logout-all revoked the token."""

    base_url: str
    email: str = field(default_factory=unique_email)
    token: str = ""

    def __post_init__(self) -> None:
        response = httpx.post(
            f"{self.base_url}/api/auth/register",
            json={"email": self.email, "password": PASSWORD},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        self.token = response.json()["access_token"]

    def headers(self) -> dict[str, str]:
        current = {"Authorization": f"Bearer {self.token}"}
        if httpx.get(f"{self.base_url}/api/me", headers=current, timeout=10).status_code == 401:
            response = httpx.post(
                f"{self.base_url}/api/auth/login",
                json={"email": self.email, "password": PASSWORD},
                timeout=10,
            )
            assert response.status_code == 200, response.text
            self.token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def fuzz_server(
    module_database_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    tmp = tmp_path_factory.mktemp("fuzz")
    # Buying credits on, against the fake Razorpay API, so its routes answer as they do live.
    with running_in_a_thread() as razorpay:
        app_settings = make_settings(
            module_database_url,
            f"{redis_prefix}fuzz{uuid.uuid4().hex[:6]}:",
            tmp,
            free_credits=10_000,
            # The limits themselves are tested elsewhere; here they would only cut coverage.
            login_limit_per_ip=100_000,
            login_limit_per_email=100_000,
            payment_orders_per_hour=100_000,
            razorpay_key_id=razorpay.key_id,
            razorpay_key_secret=razorpay.key_secret,
            razorpay_webhook_secret=razorpay.webhook_secret,
            razorpay_base_url=razorpay.base_url,
            log_level="WARNING",
        )
        server = ServerThread(app_settings).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def account(fuzz_server: ServerThread) -> Account:
    return Account(fuzz_server.url)


def _document() -> dict[str, Any]:
    # The document create_app serves at /openapi.json (checked against the served one below).
    app_settings = Settings(_env_file=None, env="test", client_dist=Path("no-client"))  # type: ignore[call-arg]
    document: dict[str, Any] = create_app(app_settings).openapi()
    return document


schema = schemathesis.openapi.from_dict(_document())
STATUSES: Counter[tuple[str, str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _print_figures() -> Iterator[None]:
    yield
    if LONG_RUN:
        print(f"\n{sum(STATUSES.values())} requests; by identity, operation and status:")
        for (identity, operation, status), count in sorted(STATUSES.items()):
            print(f"  {identity:9} {operation:45} {status}: {count}")


def test_the_fuzzed_document_is_the_one_the_server_serves(fuzz_server: ServerThread) -> None:
    assert httpx.get(f"{fuzz_server.url}/openapi.json").json() == schema.raw_schema


@pytest.mark.parametrize("identity", ["anonymous", "signed-in"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG_RUN,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, identity: str, fuzz_server: ServerThread, account: Account
) -> None:
    """No 5xx, no undeclared status, every body matching its schema, for both identities."""
    headers = account.headers() if identity == "signed-in" else None
    response = case.call_and_validate(
        base_url=fuzz_server.url,
        headers=headers,
        timeout=30,
        # positive_data_acceptance: replaced below, told about rules no schema can show.
        # negative_data_rejection: it expects an unknown query parameter to be refused (HTTP
        # APIs ignore them, as ours does), and our signed-in token undoes a case it made
        # invalid by dropping the Authorization header. Status and schema are still checked.
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )
    STATUSES[(identity, f"{case.method} {case.path}", response.status_code)] += 1
    assert response.status_code < 500
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _accepted_unless_a_rule_no_schema_can_show(response)


# Refusals of schema-valid input that depend on more than its shape, as (field, error type):
# a password on the list of common ones; an address at a special-use domain (``x@y.local``),
# which email-validator refuses and JSON Schema's ``email`` format cannot say. Any other 422
# for schema-valid input means the schema does not show a rule.
RULES_BEYOND_THE_SCHEMA = {("*", "common_password"), ("email", "value_error")}
# What schemathesis' positive_data_acceptance allows, plus what depends on the server's state
# rather than on the input's shape: 400 (an unknown reset token) and 402 (out of credits);
# and on what is inside an uploaded file, which no schema describes: 415 (not a PDF, DOCX or
# text file by its bytes).
ACCEPTED = {400, 401, 402, 403, 404, 409, 415, 429}
# 422 answers about an uploaded file's content (encrypted, scanned, damaged), by code.
FILE_CONTENT_CODES = {"resume_encrypted", "resume_no_text", "resume_unreadable"}


def _accepted_unless_a_rule_no_schema_can_show(response: schemathesis.Response) -> None:
    """schemathesis' positive_data_acceptance, told about the rules in RULES_BEYOND_THE_SCHEMA."""
    if response.status_code < 400 or response.status_code in ACCEPTED:
        return
    assert response.status_code == 422, response.text
    if response.json().get("code") in FILE_CONTENT_CODES:
        return
    for error in response.json()["detail"]:
        field, kind = str(error["loc"][-1]), error["type"]
        assert {(field, kind), ("*", kind)} & RULES_BEYOND_THE_SCHEMA, (
            f"schema-valid input refused: {response.text}"
        )
