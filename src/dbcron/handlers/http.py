"""The ``http`` job type: call a URL; an accepted status code is success.

Header values may be ``{"env": "NAME"}``: they are read from the environment inside the
running execution only, so tokens never sit in the database. The request's timeout is
the smaller of ``request_timeout_seconds`` and the time left before the job's
deadline. The result holds the status, the time taken and the start of the body::

    {"status": 200, "duration_seconds": 0.12, "body": "...", "truncated": false}

An unexpected status fails the execution with the status and a short excerpt of the
body; a connection error fails it cleanly; a timeout is recorded as ``timeout`` when
the job's deadline was the limit, and as a failure when the request's own was.
"""

from __future__ import annotations

import codecs
from typing import Any

import httpx

from dbcron.clock import Clock
from dbcron.handlers.arxiv import USER_AGENT
from dbcron.handlers.configs import HttpConfig
from dbcron.handlers.context import HandlerContext, HandlerFailed, HandlerTimedOut

#: Characters of the body quoted in the message of an unexpected status.
ERROR_EXCERPT_CHARS = 200


def run(ctx: HandlerContext) -> dict[str, Any]:
    """Send the configured request and judge its status code."""
    config = HttpConfig.model_validate(ctx.config)
    headers = {"User-Agent": USER_AGENT}
    for name, value in config.headers.items():
        plain = value.model_dump() if hasattr(value, "model_dump") else value
        headers[name] = str(ctx.resolve(plain))
    left = ctx.remaining()
    deadline_bound = left is not None and left <= config.request_timeout_seconds
    timeout = (
        config.request_timeout_seconds
        if left is None
        else min(left, config.request_timeout_seconds)
    )
    if timeout <= 0:
        raise HandlerTimedOut("the job's deadline passed before the request was sent")
    request: dict[str, Any] = {"headers": headers, "timeout": timeout}
    if config.json_body is not None:
        request["json"] = config.json_body
    elif config.body is not None:
        request["content"] = config.body.encode("utf-8")
    started = ctx.clock.monotonic()
    try:
        with (
            httpx.Client(follow_redirects=config.follow_redirects) as client,
            client.stream(config.method, config.url, **request) as response,
        ):
            body, truncated = _read_body(
                response, config.max_body_bytes, started, timeout, ctx.clock
            )
    except httpx.TimeoutException:
        elapsed = ctx.clock.monotonic() - started
        if deadline_bound:
            raise HandlerTimedOut(
                f"{config.method} {config.url}: no complete answer before the job's deadline "
                f"({elapsed:.1f}s)"
            ) from None
        raise HandlerFailed(
            f"{config.method} {config.url}: no complete answer within "
            f"request_timeout_seconds={config.request_timeout_seconds:g}"
        ) from None
    except httpx.TransportError as exc:
        raise HandlerFailed(
            f"{config.method} {config.url}: cannot connect: {exc or type(exc).__name__}"
        ) from None
    duration = round(ctx.clock.monotonic() - started, 6)
    status = response.status_code
    ctx.logger.info("%s %s -> HTTP %d in %.3fs", config.method, config.url, status, duration)
    if status not in config.expected_status:
        excerpt = " ".join(body.split())[:ERROR_EXCERPT_CHARS]
        expected = ", ".join(str(s) for s in config.expected_status)
        raise HandlerFailed(
            f"{config.method} {config.url} answered HTTP {status} (expected {expected})"
            + (f": {excerpt}" if excerpt else "")
        )
    return {"status": status, "duration_seconds": duration, "body": body, "truncated": truncated}


def _read_body(
    response: httpx.Response, limit: int, started: float, timeout: float, clock: Clock
) -> tuple[str, bool]:
    """The first ``limit`` bytes of the body as text, and whether there was more.

    Reading stops at the limit (the rest is never downloaded) and when the total time
    passes ``timeout`` (httpx's timeouts apply to each read, not to the whole body).
    """
    try:
        decoder = codecs.getincrementaldecoder(response.encoding or "utf-8")(errors="replace")
    except LookupError:  # a charset Python does not know
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    kept = bytearray()
    truncated = False
    for chunk in response.iter_bytes():
        if clock.monotonic() - started > timeout:
            raise httpx.ReadTimeout("the body took too long", request=response.request)
        room = limit - len(kept)
        if len(chunk) > room:
            kept.extend(chunk[:room])
            truncated = True
            break
        kept.extend(chunk)
    # final=False drops a multi-byte character cut in half by the limit.
    return decoder.decode(bytes(kept), final=not truncated), truncated
