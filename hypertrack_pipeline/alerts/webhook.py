"""Post one alert to a Slack/Discord-compatible incoming webhook, with retries; never raises.

The body carries the message twice — ``text`` (Slack, Mattermost, Google Chat) and ``content`` (Discord,
at most 2000 characters) — plus the structured alert under ``hypertrack`` (services that do not know a
field ignore it), so a receiver of a custom endpoint can deduplicate on ``alert_id``.

Retried with exponential backoff and full jitter: connection errors, timeouts, 408, 429 and 5xx.
``Retry-After`` (seconds or an HTTP date; Discord also sends ``retry_after`` in the JSON body) is honoured
as the minimum wait; a wait longer than the policy allows is not slept here but returned, so the caller
(the sensor) comes back later instead of blocking its tick. 400 / 413 / 422 mean this body is refused and
are not retried. Standard library only (urllib): no dependency for one POST.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from hypertrack_pipeline.config import mask_url

if TYPE_CHECKING:
    from hypertrack_pipeline.alerts.rules import Alert

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
REJECTED_STATUS = frozenset({400, 413, 422})  # the body is the problem: sending it again cannot help
DISCORD_MAX = 2000
USER_AGENT = "hypertrack-alerts/1"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one delivery tries before giving the alert back to the caller as still pending."""

    attempts: int = 4
    base_delay: float = 0.5  # s, doubled each retry (full jitter: a random wait up to that)
    max_delay: float = 8.0  # s, longest single wait slept here; a longer Retry-After is returned instead
    timeout: float = 10.0  # s, per request
    deadline: float = 30.0  # s, all attempts together (a sensor tick must end well within its timeout)


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status: int | None  # last HTTP status (None: no answer)
    attempts: int
    error: str = ""  # why it failed, URL masked
    rejected: bool = False  # refused for its content: do not send this body again
    retry_after: float | None = None  # s the server asked to wait, when longer than this call would sleep


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON body for one alert."""
    text = f"[hypertrack] {alert.message}"
    return {"text": text, "content": text[:DISCORD_MAX], "hypertrack": alert.as_dict()}


def _retry_after(headers: Mapping[str, str] | None, body: bytes) -> float | None:
    raw = (headers or {}).get("Retry-After")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    try:  # Discord: {"retry_after": 1.5, …}
        value = json.loads(body or b"{}").get("retry_after")
        return max(0.0, float(value)) if value is not None else None
    except (ValueError, AttributeError, TypeError):
        return None


def post_json(url: str, body: Mapping[str, Any], policy: RetryPolicy = DEFAULT_POLICY,
              sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
              rng: random.Random | None = None) -> PostResult:
    """POST ``body`` as JSON to ``url`` until a 2xx answer, a refusal, or the policy is spent."""
    rng = rng or random.Random()
    data = json.dumps(body, default=str).encode()
    start = clock()
    status: int | None = None
    error = ""
    for attempt in range(1, policy.attempts + 1):
        wait_hint: float | None = None
        try:
            request = urllib.request.Request(url, data=data, method="POST", headers={
                "Content-Type": "application/json", "User-Agent": USER_AGENT})
            with urllib.request.urlopen(request, timeout=policy.timeout) as response:  # noqa: S310 (http/https only)
                return PostResult(True, response.status, attempt)
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                answer = exc.read()[:2000]
            except Exception:  # a broken body must not hide the status
                answer = b""
            error = f"HTTP {exc.code} from {mask_url(url)}: {answer.decode(errors='replace').strip()[:200]}"
            if exc.code in REJECTED_STATUS:
                return PostResult(False, status, attempt, error, rejected=True)
            if exc.code not in RETRYABLE_STATUS:  # 401/403/404/410…: the webhook itself; the caller backs off
                return PostResult(False, status, attempt, error)
            wait_hint = _retry_after(exc.headers, answer)
        except Exception as exc:  # connection refused or reset, timeout, DNS, TLS, a malformed URL
            status = None
            error = f"{type(exc).__name__} posting to {mask_url(url)}: {_reason(exc)}"
        if attempt == policy.attempts:
            break
        backoff = rng.uniform(0, min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)))
        wait = max(backoff, wait_hint or 0.0)
        left = policy.deadline - (clock() - start)
        if wait > policy.max_delay or wait >= left:
            return PostResult(False, status, attempt, error, retry_after=wait_hint)
        sleep(wait)
    return PostResult(False, status, policy.attempts, error)


def _reason(exc: Exception) -> str:
    """The error's reason with any URL in it masked (a webhook URL is a secret: its path is the token)."""
    reason = str(getattr(exc, "reason", None) or exc)
    return _URL.sub(lambda m: mask_url(m.group()), reason)[:200]
