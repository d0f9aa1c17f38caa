"""A local fake of the Gemini REST API, so tests run the real ``google-genai`` SDK over HTTP.

It serves ``/{version}/models/{model}:streamGenerateContent?alt=sse``, ``:generateContent``,
``GET /{version}/models`` and context caches (``POST /{version}/cachedContents``,
``GET``/``DELETE /{version}/cachedContents/{id}``) for any api version, checks
``x-goog-api-key``, answers in the wire format of the real API, records every request, and
notices clients that go away mid-response. What it answers is scripted per endpoint with the
behaviours below. It can also model thinking: a delay before the first token per thinking
level the request asks for (``THINKING_DELAYS_S`` is a rough model of a Flash model).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.serving import LoopbackServer

Endpoint = Literal["stream", "generate"]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
ROUTE = re.compile(
    r"^/(?P<version>[^/]+)/models(?:/(?P<model>[^/:]+)(?::(?P<action>[A-Za-z]+))?)?$"
)
CACHE_ROUTE = re.compile(r"^/(?P<version>[^/]+)/cachedContents(?:/(?P<cache>[^/:]+))?$")
# Seconds of thinking before the first token, per requested thinking level ("" : none asked
# for, the model's default level). A rough model for benchmarks; tests use none by default.
THINKING_DELAYS_S: dict[str, float] = {
    "MINIMAL": 0.0,
    "LOW": 0.15,
    "MEDIUM": 0.6,
    "HIGH": 1.5,
    "": 1.5,
}
FENCED_ANSWER = re.compile(r"<candidate_answer>\s*(.*?)\s*</candidate_answer>", re.DOTALL)


# --- behaviours ---------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """Stream ``chunks`` as SSE events; for generateContent, answer with them joined."""

    chunks: Sequence[str] = ("Hello, and welcome. ", "Tell me about ", "a project you led.")
    delay_s: float = 0.0  # before each chunk after the first
    first_delay_s: float = 0.0
    stall_after: int | None = None  # send this many chunks, then nothing, connection open
    error_after: int | None = None  # send this many chunks, then a mid-stream error event
    error_code: int = 500
    usage: tuple[int, int] = (120, 30)
    running_usage: bool = False  # usage on every chunk (prompt, chunks so far), as the API may
    finish: str = "STOP"  # the last chunk's finishReason (SAFETY, MAX_TOKENS, ...)


@dataclass(frozen=True)
class Reply:
    """Answer generateContent with ``text`` as the model's output (one chunk when streamed)."""

    text: str
    usage: tuple[int, int] = (300, 80)
    delay_s: float = 0.0

    @classmethod
    def of(cls, payload: Any, **kwargs: Any) -> Reply:
        return cls(json.dumps(payload), **kwargs)


@dataclass(frozen=True)
class Fail:
    """Answer with an HTTP error in Google's format: ``{"error": {code, message, status}}``."""

    status: int
    message: str = "simulated failure"
    reason: str | None = None  # an ErrorInfo reason, e.g. API_KEY_INVALID
    retry_delay: str | None = None  # a RetryInfo delay, e.g. "1s"


@dataclass(frozen=True)
class Echo:
    """The model repeats the last ``<candidate_answer>`` fence of the request, word by word."""

    delay_s: float = 0.0


@dataclass(frozen=True)
class Blocked:
    """Answer with no candidates at all, as for a blocked prompt (``promptFeedback``)."""

    reason: str = "OTHER"
    usage: tuple[int, int] = (120, 0)


Behaviour = Stream | Reply | Fail | Echo | Blocked | Callable[["RecordedRequest"], Any]


# --- what was asked -------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    version: str
    model: str | None
    action: str  # streamGenerateContent | generateContent | list | get
    api_key: str | None
    body: dict[str, Any]
    client: tuple[str, int]
    at: float  # time.perf_counter() when the body was read
    inline: list[tuple[str, bytes]] = field(default_factory=list)  # (mime type, decoded data)

    @property
    def system_text(self) -> str:
        instruction = self.body.get("systemInstruction") or self.body.get("system_instruction")
        return _parts_text(instruction or {})

    @property
    def contents(self) -> list[dict[str, Any]]:
        contents: list[dict[str, Any]] = self.body.get("contents") or []
        return contents

    @property
    def contents_text(self) -> str:
        return "\n".join(_parts_text(c) for c in self.contents)

    @property
    def generation_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.body.get("generationConfig") or {}
        return config

    @property
    def thinking_level(self) -> str:
        """The thinking level asked for, "" if none (the model's default). The SDK writes
        the key in snake_case (``thinking_level``); the API takes both spellings."""
        config = self.generation_config
        thinking = config.get("thinkingConfig") or config.get("thinking_config") or {}
        return str(thinking.get("thinkingLevel") or thinking.get("thinking_level") or "")

    @property
    def cached_content(self) -> str | None:
        name = self.body.get("cachedContent") or self.body.get("cached_content")
        return str(name) if name else None


def _parts_text(content: dict[str, Any]) -> str:
    return "".join(str(p.get("text", "")) for p in content.get("parts") or [])


def error_body(
    status: int, message: str, reason: str | None = None, retry_delay: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": STATUS_NAMES.get(status, "UNKNOWN"),
    }
    details: list[dict[str, Any]] = []
    if reason:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        )
    if retry_delay:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        )
    if details:
        error["details"] = details
    return {"error": error}


def response_body(
    text: str | None,
    model: str,
    usage: tuple[int, int] | None,
    finish: str | None,
    cached: int = 0,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"index": 0}
    if text is not None:
        candidate["content"] = {"parts": [{"text": text}], "role": "model"}
    if finish:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
    if usage is not None:
        prompt, output = usage
        # The prompt count includes the tokens read from the cache, as the API reports it.
        body["usageMetadata"] = {
            "promptTokenCount": prompt + cached,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + cached + output,
        }
        if cached:
            body["usageMetadata"]["cachedContentTokenCount"] = cached
    return body


def blocked_body(plan: Blocked, model: str) -> dict[str, Any]:
    prompt, output = plan.usage
    return {
        "promptFeedback": {"blockReason": plan.reason},
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + output,
        },
        "modelVersion": model,
    }


# --- the server -----------------------------------------------------------------------


class FakeGemini:
    """The fake API on 127.0.0.1:<random port>, served by uvicorn in the current event loop."""

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        models: Sequence[str] = ("gemini-test",),
        thinking_delays_s: Mapping[str, float] | None = None,
    ) -> None:
        self.api_key = api_key
        self.models = list(models)
        # Per thinking level (see THINKING_DELAYS_S); None: no thinking delay at all.
        self.thinking_delays_s = dict(thinking_delays_s or {})
        # Context caches by name ("cachedContents/..."): the create request's body, plus
        # "tokens" (what a request naming it reads from it).
        self.caches: dict[str, dict[str, Any]] = {}
        self.deleted_caches: list[str] = []
        self.cache_failure: Fail | None = None  # answer every cache creation with this
        self.cache_tokens: int | None = None  # tokens per cache; None: its characters / 4
        self.scripts: dict[Endpoint, deque[Behaviour]] = {
            "stream": deque(),
            "generate": deque(),
        }
        # What an endpoint does once its script is used up (e.g. Fail(503) for "forever").
        self.defaults: dict[Endpoint, Behaviour] = {
            "stream": Stream(),
            "generate": Reply("OK"),
        }
        self.requests: list[RecordedRequest] = []
        self.clients: set[tuple[str, int]] = set()
        self.disconnects: list[float] = []  # perf_counter() when a client left mid-response
        self.sent: list[tuple[str, float]] = []  # streamed texts, perf_counter() before sending
        self.completed = 0  # responses sent to the end
        self.port = 0
        self._serving = LoopbackServer(self, "the fake Gemini API")
        self._closing = asyncio.Event()

    # --- scripting ------------------------------------------------------------------

    def script(self, endpoint: Endpoint, *behaviours: Behaviour) -> FakeGemini:
        self.scripts[endpoint].extend(behaviours)
        return self

    def forever(self, endpoint: Endpoint, behaviour: Behaviour) -> FakeGemini:
        self.defaults[endpoint] = behaviour
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connection_count(self) -> int:
        """TCP connections seen (distinct client address and port)."""
        return len(self.clients)

    def calls(self, action: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.action == action]

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> FakeGemini:
        self._closing = asyncio.Event()
        self.port = await self._serving.start()
        return self

    async def stop(self) -> None:
        self._closing.set()
        await self._serving.stop()

    async def __aenter__(self) -> FakeGemini:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        client = scope.get("client") or ("", 0)
        self.clients.add((client[0], client[1]))
        raw = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        cache_route = CACHE_ROUTE.match(scope["path"])
        if cache_route is not None:
            await self._cache_call(scope, cache_route, headers, raw, client, send)
            return
        route = ROUTE.match(scope["path"])
        if route is None:
            await _json(send, 404, error_body(404, f"no route for {scope['path']}"))
            return
        action = route["action"] or ("get" if route["model"] else "list")
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            await _json(send, 400, error_body(400, "Invalid JSON payload received."))
            return
        record = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode(),
            version=route["version"],
            model=route["model"],
            action=action,
            api_key=headers.get("x-goog-api-key"),
            body=body,
            client=(client[0], client[1]),
            at=time.perf_counter(),
        )
        self.requests.append(record)

        if record.api_key != self.api_key:
            await _json(
                send,
                400,
                error_body(
                    400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"
                ),
            )
            return
        if action == "list":
            await _json(send, 200, {"models": [self._model_info(m) for m in self.models]})
            return
        if record.model not in self.models:
            await _json(
                send,
                404,
                error_body(
                    404,
                    f"models/{record.model} is not found for API version {record.version}, or "
                    "is not supported for generateContent. Call ListModels to see the list of "
                    "available models and their supported methods.",
                ),
            )
            return
        if action == "get":
            await _json(send, 200, self._model_info(record.model))
            return
        problem = _check_inline_data(record)
        if problem:
            await _json(send, 400, error_body(400, problem))
            return
        cached = 0
        if record.cached_content is not None:
            refusal = self._check_cache_use(record)
            if refusal is not None:
                await _json(send, refusal[0], error_body(*refusal))
                return
            cached = int(self.caches[record.cached_content]["tokens"])
        think_s = self.thinking_delays_s.get(record.thinking_level, 0.0)

        endpoint: Endpoint = "stream" if action == "streamGenerateContent" else "generate"
        script = self.scripts[endpoint]
        behaviour: Any = script.popleft() if script else self.defaults[endpoint]
        while not isinstance(behaviour, Stream | Reply | Fail | Echo | Blocked):
            behaviour = behaviour(record)
        if isinstance(behaviour, Blocked):
            body = blocked_body(behaviour, record.model or "")
            if endpoint == "stream":
                await self._watching(receive, self._blocked_stream(send, body))
            else:
                await _json(send, 200, body)
                self.completed += 1
            return
        if isinstance(behaviour, Fail):
            await _json(
                send,
                behaviour.status,
                error_body(
                    behaviour.status, behaviour.message, behaviour.reason, behaviour.retry_delay
                ),
            )
            return
        if isinstance(behaviour, Echo):
            fenced = FENCED_ANSWER.findall(record.contents_text)
            words = (fenced[-1] if fenced else "").split(" ")
            behaviour = Stream(
                chunks=[w + " " for w in words[:-1]] + words[-1:], delay_s=behaviour.delay_s
            )
        model = record.model or ""
        if endpoint == "stream":
            if isinstance(behaviour, Reply):
                behaviour = Stream(chunks=[behaviour.text], usage=behaviour.usage)
            await self._watching(
                receive, self._stream(send, behaviour, model, think_s=think_s, cached=cached)
            )
        else:
            if isinstance(behaviour, Stream):
                behaviour = Reply("".join(behaviour.chunks), usage=behaviour.usage)
            await self._watching(
                receive, self._reply(send, behaviour, model, think_s=think_s, cached=cached)
            )

    def _model_info(self, model: str) -> dict[str, Any]:
        return {
            "name": f"models/{model}",
            "version": "001",
            "displayName": model,
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        }

    async def _watching(self, receive: Receive, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work``; if the client goes away first, note when and stop it."""
        worker = asyncio.ensure_future(work)
        watcher = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({worker, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not worker.done():
                self.disconnects.append(time.perf_counter())
                worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await worker
        finally:
            watcher.cancel()
            worker.cancel()

    async def _stream(
        self, send: Send, plan: Stream, model: str, *, think_s: float = 0.0, cached: int = 0
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        if think_s:
            await asyncio.sleep(think_s)
        last = len(plan.chunks) - 1
        for i, text in enumerate(plan.chunks):
            if plan.error_after is not None and i == plan.error_after:
                event = error_body(plan.error_code, "The model is overloaded mid-stream.")
                await send(_sse(event, more=False))
                self.completed += 1
                return
            if plan.stall_after is not None and i == plan.stall_after:
                await self._closing.wait()
                return
            wait = plan.first_delay_s if i == 0 else plan.delay_s
            if wait:
                await asyncio.sleep(wait)
            final = i == last
            usage = plan.usage if final else (plan.usage[0], i + 1) if plan.running_usage else None
            event = response_body(
                text, model, usage, plan.finish if final else None, cached if final else 0
            )
            self.sent.append((text, time.perf_counter()))
            await send(_sse(event, more=not final))
        if not plan.chunks:
            body = response_body(None, model, plan.usage, plan.finish, cached)
            await send(_sse(body, more=False))
        self.completed += 1

    async def _blocked_stream(self, send: Send, body: dict[str, Any]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        await send(_sse(body, more=False))
        self.completed += 1

    async def _reply(
        self, send: Send, plan: Reply, model: str, *, think_s: float = 0.0, cached: int = 0
    ) -> None:
        if plan.delay_s or think_s:
            await asyncio.sleep(plan.delay_s + think_s)
        await _json(send, 200, response_body(plan.text, model, plan.usage, "STOP", cached))
        self.completed += 1

    # --- context caches -------------------------------------------------------------

    def _check_cache_use(self, record: RecordedRequest) -> tuple[int, str] | None:
        """Like the API: a request naming a cache may not also set a system instruction, and
        the cache must exist and belong to the request's model."""
        name = record.cached_content or ""
        if record.body.get("systemInstruction") or record.body.get("system_instruction"):
            return (
                400,
                "CachedContent can not be used with GenerateContent request setting "
                "system_instruction, tools or tool_config.\n\nProposed fix: move those values "
                "to CachedContent from GenerateContent request.",
            )
        cache = self.caches.get(name)
        if cache is None:
            return 403, f"CachedContent not found (or permission denied): {name}"
        if cache["model"] != f"models/{record.model}":
            return 400, f"CachedContent {name} is for {cache['model']}, not {record.model}"
        return None

    async def _cache_call(
        self,
        scope: Message,
        route: re.Match[str],
        headers: dict[str, str],
        raw: bytes,
        client: tuple[str, int],
        send: Send,
    ) -> None:
        body = json.loads(raw) if raw else {}
        method = scope["method"]
        action = {"POST": "cache_create", "DELETE": "cache_delete"}.get(method, "cache_get")
        record = RecordedRequest(
            method=method,
            path=scope["path"],
            query=scope.get("query_string", b"").decode(),
            version=route["version"],
            model=str(body.get("model", "")).removeprefix("models/") or None,
            action=action,
            api_key=headers.get("x-goog-api-key"),
            body=body,
            client=(client[0], client[1]),
            at=time.perf_counter(),
        )
        self.requests.append(record)
        if record.api_key != self.api_key:
            await _json(send, 400, error_body(400, "API key not valid.", "API_KEY_INVALID"))
            return
        name = f"cachedContents/{route['cache']}" if route["cache"] else None
        if action == "cache_create":
            if self.cache_failure is not None:
                fail = self.cache_failure
                await _json(send, fail.status, error_body(fail.status, fail.message))
                return
            if record.model not in self.models:
                await _json(send, 404, error_body(404, f"models/{record.model} is not found"))
                return
            name = f"cachedContents/fake{len(self.caches) + len(self.deleted_caches) + 1}"
            text = _parts_text(body.get("systemInstruction") or {}) + "".join(
                _parts_text(c) for c in body.get("contents") or []
            )
            tokens = self.cache_tokens if self.cache_tokens is not None else len(text) // 4
            self.caches[name] = {**body, "name": name, "tokens": tokens}
            await _json(send, 200, self._cache_info(name))
            return
        if name is None or name not in self.caches:
            await _json(send, 403, error_body(403, f"CachedContent not found: {name}"))
            return
        if action == "cache_delete":
            del self.caches[name]
            self.deleted_caches.append(name)
            await _json(send, 200, {})
            return
        await _json(send, 200, self._cache_info(name))

    def _cache_info(self, name: str) -> dict[str, Any]:
        cache = self.caches[name]
        return {
            "name": name,
            "model": cache["model"],
            "displayName": cache.get("displayName", ""),
            "createTime": "2026-11-30T00:00:00Z",
            "updateTime": "2026-11-30T00:00:00Z",
            "expireTime": "2026-11-30T01:00:00Z",
            "usageMetadata": {"totalTokenCount": cache["tokens"]},
        }


def _sse(event: dict[str, Any], *, more: bool) -> Message:
    data = b"data: " + json.dumps(event).encode() + b"\r\n\r\n"
    return {"type": "http.response.body", "body": data, "more_body": more}


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json; charset=UTF-8")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _check_inline_data(record: RecordedRequest) -> str | None:
    """Accept inline parts with ``mime_type`` or ``mimeType`` (the SDK sends snake_case)."""
    for content in record.contents:
        for part in content.get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data")
            if inline is None:
                continue
            mime = inline.get("mimeType") or inline.get("mime_type")
            if not mime:
                return "inline_data.mime_type is required."
            # Like the real API (proto JSON), accept standard and URL-safe base64;
            # the SDK sends URL-safe.
            encoded = str(inline.get("data", "")).replace("-", "+").replace("_", "/")
            try:
                data = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                return "Invalid value at 'contents.parts.inline_data.data': not base64."
            record.inline.append((mime, data))
    return None
