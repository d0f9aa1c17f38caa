"""The shipped reverse proxy (deploy/nginx, rendered with compose.yaml's settings) in front of two
gateway processes on PostgreSQL + Redis: sockets spread, a restart moves a client, nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.protocol import CloseCode
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.deploy.conftest import require_binary
from tests.wsclient import STRONG_ANSWER, InterviewClient, answer_everything, new_session

pytestmark = pytest.mark.needs_redis
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "interview.conf.template"
COMPOSE = ROOT / "compose.yaml"
INTERVIEW = str(Path(sys.executable).parent / "interview")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def render_template(template: str, values: dict[str, str]) -> str:
    """What the nginx image does at start (envsubst limited to ``PROXY_*``): every ``${PROXY_X}``
    replaced, nginx's own ``$variables`` left alone; a variable without a value is an error."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"the template uses ${{{name}}}, which has no value")
        return values[name]

    return re.sub(r"\$\{(PROXY_[A-Z0-9_]+)\}", value, template)


def compose_proxy_values(
    gateways: dict[str, str], listen: str, client_root: Path
) -> dict[str, str]:
    """compose.yaml's settings for the proxy, with the gateways' and the proxy's addresses
    replaced by this test's (``gateway-1:8000`` -> ``127.0.0.1:PORT``)."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    values: dict[str, str] = {k: str(v) for k, v in services["proxy"]["environment"].items()}
    upstreams = values["PROXY_UPSTREAMS"]
    for name, address in gateways.items():
        assert f"{name}:8000" in upstreams, f"compose.yaml's proxy does not name {name}"
        upstreams = upstreams.replace(f"{name}:8000", address)
    assert set(re.findall(r"server\s+(\S+)", upstreams)) == set(gateways.values()), upstreams
    values["PROXY_UPSTREAMS"] = upstreams
    values["PROXY_LISTEN"] = listen
    values["PROXY_CLIENT_ROOT"] = str(client_root)
    return values


class GatewayProcess:
    """``interview serve`` on a port of its own; ``restart`` is a stop (SIGTERM) and a start."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / f"gateway-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [INTERVIEW, "serve", "--port", str(self.port), "--no-migrate"],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def ready(self) -> None:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{self.http}/readyz", timeout=1)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"the gateway on port {self.port} did not start")

    def terminate(self) -> None:
        """SIGTERM, as compose and ECS stop a container: the gateway drains, then exits."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def exited(self) -> None:
        assert self.process is not None
        await asyncio.to_thread(self.process.wait, 20)

    async def open_sockets(self) -> float:
        """The gateway's own count of open sockets, from its /metrics (asked on loopback)."""
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"{self.http}/metrics", timeout=5)).text
        match = re.search(r"^interview_ws_active_sockets (\S+)$", text, re.MULTILINE)
        assert match, "no interview_ws_active_sockets in /metrics"
        return float(match.group(1))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        tail = self.log_path.read_text(errors="replace")[-10_000:]
        sys.stderr.write(f"--- gateway on port {self.port} ---\n{tail}\n")


class Nginx:
    """nginx from the Debian package, run from the rendered template in a directory of its own."""

    def __init__(self, binary: str, snippet: str, prefix: Path) -> None:
        self.prefix = prefix
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "interview.conf").write_text(snippet)
        # As root, nginx's workers would switch to "nobody", who cannot read pytest's 0700 dirs.
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(
            f"    {kind}_temp_path {prefix / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (prefix / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
            f"error_log {prefix / 'error.log'} info;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n"
            f"    access_log {prefix / 'access.log'};\n{temp}\n"
            f"    include {prefix / 'interview.conf'};\n}}\n"
        )
        self.conf = prefix / "nginx.conf"
        checked = subprocess.run(
            [binary, "-t", "-p", str(prefix), "-c", str(self.conf)],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert checked.returncode == 0, f"nginx refuses the configuration:\n{checked.stderr}"
        self.process = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # fast shutdown: open sockets end now
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        log = self.prefix / "error.log"
        if log.exists():
            tail = log.read_text(errors="replace")[-5000:]
            sys.stderr.write(f"--- nginx error.log ---\n{tail}\n")


class Stack:
    def __init__(self, proxy_port: int, gateways: dict[str, GatewayProcess]) -> None:
        self.http = f"http://127.0.0.1:{proxy_port}"
        self.ws = f"ws://127.0.0.1:{proxy_port}"
        self.gateways = gateways

    def ws_url(self, interview_id: str) -> str:
        return f"{self.ws}/ws/interviews/{interview_id}"

    async def sockets_per_gateway(self) -> dict[str, float]:
        counts = await asyncio.gather(*(g.open_sockets() for g in self.gateways.values()))
        return dict(zip(self.gateways, counts, strict=True))


@pytest.fixture
def gateway_env(database_url: str, redis_prefix: str, tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEW_")}
    values.pop("GEMINI_API_KEY", None)
    values.pop("PROMETHEUS_MULTIPROC_DIR", None)
    values.update(
        INTERVIEW_DATABASE_URL=database_url,
        INTERVIEW_REDIS_URL=REDIS_URL,
        INTERVIEW_REDIS_KEY_PREFIX=f"{redis_prefix}{uuid.uuid4().hex[:8]}:",
        INTERVIEW_JWT_SECRET=TEST_SECRET,
        INTERVIEW_OFFLINE_PACE_MS="15",
        INTERVIEW_LEASE_TTL_MS="1500",
        INTERVIEW_DATA_DIR=str(tmp_path),
        INTERVIEW_CLIENT_DIST=str(tmp_path / "none"),
        # As compose.yaml: the proxy is the one trusted peer.
        INTERVIEW_TRUSTED_PROXIES="127.0.0.1",
    )
    return values


@pytest.fixture
def client_dist(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "assets" / "index-3f2a9c1d.js").write_text("console.log('built client');\n")
    return dist


@pytest.fixture
async def stack(
    gateway_env: dict[str, str], client_dist: Path, tmp_path: Path
) -> AsyncIterator[Stack]:
    nginx_binary = require_binary("nginx", "nginx")
    gateways = {name: GatewayProcess(gateway_env, tmp_path) for name in ("gateway-1", "gateway-2")}
    proxy_port = free_port()
    values = compose_proxy_values(
        {name: f"127.0.0.1:{g.port}" for name, g in gateways.items()},
        f"127.0.0.1:{proxy_port}",
        client_dist,
    )
    nginx: Nginx | None = None
    try:
        for gateway in gateways.values():
            gateway.start()
        await asyncio.gather(*(g.ready() for g in gateways.values()))
        snippet = render_template(TEMPLATE.read_text(), values)
        nginx = Nginx(nginx_binary, snippet, tmp_path / "nginx")
        stack = Stack(proxy_port, gateways)
        await _until_ready(f"{stack.http}/readyz")
        yield stack
    finally:
        if nginx is not None:
            nginx.stop()
        for gateway in gateways.values():
            gateway.stop()


async def _until_ready(url: str) -> None:
    deadline = time.monotonic() + 15
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(url, timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not answer through the proxy")


def test_the_template_leaves_nginx_variables_alone_and_needs_every_setting() -> None:
    """Only ${PROXY_*} are the deployment's; $http_upgrade and friends are nginx's own."""
    template = TEMPLATE.read_text()
    rendered = render_template(
        template,
        {"PROXY_LISTEN": "80", "PROXY_UPSTREAMS": "server a:8000;", "PROXY_CLIENT_ROOT": "/c"},
    )
    assert "proxy_set_header Upgrade $http_upgrade;" in rendered
    assert "${" not in rendered
    with pytest.raises(KeyError, match="PROXY_CLIENT_ROOT"):
        render_template(template, {"PROXY_LISTEN": "80", "PROXY_UPSTREAMS": ""})


async def test_the_proxy_serves_hashed_assets_for_a_year_and_hides_metrics(
    stack: Stack, client_dist: Path
) -> None:
    async with httpx.AsyncClient(base_url=stack.http, timeout=5) as http:
        asset = await http.get("/assets/index-3f2a9c1d.js")
        assert asset.status_code == 200
        assert asset.text == (client_dist / "assets" / "index-3f2a9c1d.js").read_text()
        assert "max-age=31536000" in asset.headers["cache-control"]
        assert "immutable" in asset.headers["cache-control"]
        assert (await http.get("/assets/missing-0000.js")).status_code == 404
        # The gateways answer /metrics to loopback peers; the proxy is one, so it must close it.
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/readyz")).status_code == 200
        # Everything else comes from a gateway, with the gateway's security headers.
        api = await http.get("/api/me")
        assert api.status_code == 401
        assert api.headers["content-security-policy"].startswith("default-src 'none'")
        assert api.headers["x-frame-options"] == "DENY"


async def test_sockets_spread_over_both_gateways_without_stickiness(stack: Stack) -> None:
    sessions = [await new_session(stack.http, question_count=1) for _ in range(2)]
    clients = [InterviewClient(stack.ws_url(s.interview_id), s.token) for s in sessions]
    try:
        for client in clients:
            await client.connect()
        assert await stack.sockets_per_gateway() == {"gateway-1": 1.0, "gateway-2": 1.0}
    finally:
        for client in clients:
            await client.close()


async def test_the_gateway_sees_the_browser_origin_through_the_proxy(stack: Stack) -> None:
    """The proxy passes Host with its port: a page of this origin is let in, another is not."""
    session = await new_session(stack.http, question_count=1)
    hello = orjson.dumps({"type": "hello", "token": session.token, "last_seq": 0}).decode()
    async with connect(stack.ws_url(session.interview_id), origin=stack.http) as ws:
        await ws.send(hello)
        ready: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ready["type"] == "ready"
    async with connect(
        stack.ws_url(session.interview_id),
        origin="https://elsewhere.example",
    ) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.send(hello)
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CloseCode.origin_not_allowed


async def test_a_restart_moves_the_client_to_the_other_gateway_with_nothing_lost(
    stack: Stack,
) -> None:
    session = await new_session(stack.http, question_count=2)
    session.http = stack.http
    client = InterviewClient(stack.ws_url(session.interview_id), session.token)
    await client.connect()
    first_end = await client.until("turn.end")
    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first_end["turn"]})
    await client.until("turn.start")
    await client.until("turn.delta")  # mid-sentence when its gateway restarts

    counts = await stack.sockets_per_gateway()
    serving = next(name for name, count in counts.items() if count == 1.0)
    other = next(name for name in counts if name != serving)
    stack.gateways[serving].terminate()  # the restart: stop (drain) ...
    code, reason = await client.closed_with()
    assert code == 1001 and "reconnect" in reason  # the proxy passed the gateway's close
    await stack.gateways[serving].exited()

    ready = await client.connect()  # ... through the proxy again, to the gateway still up
    assert ready["resumed"] is True
    assert (await stack.gateways[other].open_sockets()) == 1.0
    stack.gateways[serving].start()  # ... and start
    ended = await answer_everything(client)
    assert ended["status"] == "finished"

    # Every event once, in order: recv() checked seq = last + 1 frame by frame.
    seqs = [frame["seq"] for frame in client.frames if frame["seq"]]
    assert seqs == list(range(1, seqs[-1] + 1))
    detail = await session.detail()
    texts = client.turn_texts()
    assert [texts[t["index"]] for t in detail["turns"]] == [t["question"] for t in detail["turns"]]
    assert all(t["answer"] for t in detail["turns"])
    await client.close()
    await stack.gateways[serving].ready()  # the restarted gateway serves again
