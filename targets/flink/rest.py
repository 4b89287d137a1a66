"""A small client for the Flink REST API (the JobManager's HTTP endpoint).

Only `urllib` is used so the Flink target can talk to a cluster without extra dependencies. Every call
goes straight to the address given (proxies from the environment are ignored: the clusters flowc runs
listen on loopback, and a corporate `http_proxy` would otherwise swallow those requests). Errors of any
kind (unreachable, HTTP status, bad JSON) surface as `RestError`, with the message Flink sent when it
sent one, so callers have a single exception type to turn into a user-facing message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

TERMINAL_STATES = ("FINISHED", "FAILED", "CANCELED")

# no ProxyHandler entries: talk to the address directly, whatever http_proxy/no_proxy say
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RestError(Exception):
    """A Flink REST call failed: the endpoint is unreachable, answered with an error, or sent no JSON."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status when Flink answered, None when it could not be reached


class JobTimeout(RestError, TimeoutError):
    """`wait_for` gave up: the job did not reach one of the awaited states in time."""


def _url(address: str, path: str) -> str:
    base = address if "://" in address else f"http://{address}"
    return base.rstrip("/") + "/" + path.lstrip("/")


def _request(method: str, address: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
    """One HTTP exchange; returns the decoded JSON body ({} for an empty body)."""
    url = _url(address, path)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        # Flink answers errors as {"errors": ["message", "stacktrace..."]}: keep the first (short) one
        detail = ""
        try:
            payload = json.loads(e.read() or b"{}")
            errors = payload.get("errors") or []
            if errors:
                detail = str(errors[0]).strip().splitlines()[0]
        except (ValueError, AttributeError, OSError):
            pass
        message = f"{method} {url}: HTTP {e.code}" + (f": {detail}" if detail else "")
        raise RestError(message, e.code) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise RestError(f"cannot reach the Flink REST API at {url}: {reason}") from None
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise RestError(f"{method} {url}: the answer is not JSON: {raw[:200]!r}") from None


def get(address: str, path: str, timeout: float = 10.0) -> dict:
    """GET `path` (e.g. "/overview") from the REST API at `address` ("host:port" or a URL)."""
    result = _request("GET", address, path, timeout=timeout)
    if not isinstance(result, dict):
        raise RestError(f"GET {_url(address, path)}: expected a JSON object, got {type(result).__name__}")
    return result


def overview(address: str) -> dict:
    """The cluster summary: taskmanagers, slots-total, slots-available, jobs-running, flink-version, ..."""
    return get(address, "/overview")


def jobmanager_config(address: str) -> dict[str, str]:
    """The JobManager's effective configuration as {key: value} (Flink sends a list of key/value pairs)."""
    result = _request("GET", address, "/jobmanager/config")
    if not isinstance(result, list):
        raise RestError(f"GET {_url(address, '/jobmanager/config')}: expected a JSON list")
    return {str(item.get("key")): str(item.get("value")) for item in result if isinstance(item, dict)}


def jobs(address: str) -> list[dict]:
    """All jobs the JobManager knows, each {jid, name, state, start-time, end-time, duration, tasks, ...}."""
    return list(get(address, "/jobs/overview").get("jobs", []))


def cancel(address: str, jid: str) -> None:
    """Ask Flink to cancel a job; returns once the request is accepted (use `wait_for` to see it end)."""
    _request("PATCH", address, f"/jobs/{urllib.parse.quote(jid)}?mode=cancel")


def _innermost_cause(stacktrace: str) -> str | None:
    """The deepest top-level "Caused by:" of a Java stack trace (with a multi-line message kept whole),
    else its first line: the root cause is what a user can act on, the outer wrappers rarely are."""
    lines = stacktrace.splitlines()
    if not lines:
        return None
    starts = [i for i, line in enumerate(lines) if line.startswith("Caused by:")]
    if not starts:
        return lines[0].strip() or None
    i = starts[-1]
    message = [lines[i][len("Caused by:"):].strip()]
    for line in lines[i + 1:]:
        stripped = line.strip()
        if stripped.startswith(("at ", "... ", "Caused by:", "Suppressed:")) or not stripped:
            break
        message.append(line.rstrip())
    return "\n".join(message)


def root_cause(address: str, jid: str) -> str | None:
    """Why a job failed, in one line (or a few when the message itself has several): the innermost
    "Caused by:" of the latest exception in the job's history. None when the job recorded no exception.

    Flink 2.x reports exceptions only under exceptionHistory (newest first); Flink 1.x also had a flat
    "root-exception" string, used when the history is empty.
    """
    data = get(address, f"/jobs/{urllib.parse.quote(jid)}/exceptions")
    entries = (data.get("exceptionHistory") or {}).get("entries") or []
    stacktrace = entries[0].get("stacktrace") if entries else None
    if not stacktrace:
        stacktrace = data.get("root-exception")
    if not stacktrace:
        return None
    return _innermost_cause(str(stacktrace))


def state(address: str, jid: str) -> str:
    """The job's current state (CREATED, RUNNING, FINISHED, FAILED, CANCELED, ...)."""
    return str(get(address, f"/jobs/{urllib.parse.quote(jid)}").get("state", "UNKNOWN"))


def wait_for(address: str, jid: str, states: Iterable[str] = TERMINAL_STATES, timeout: float = 60.0) -> str:
    """Poll the job until it is in one of `states` and return that state; JobTimeout after `timeout` s.

    Polling starts fast (short jobs end within a second) and backs off to once a second.
    """
    wanted = {s.upper() for s in states}
    deadline = time.monotonic() + timeout
    delay = 0.1
    current = "UNKNOWN"
    while True:
        current = state(address, jid)
        if current in wanted:
            return current
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JobTimeout(f"job {jid} is still {current} after {timeout:g} s "
                             f"(waited for {', '.join(sorted(wanted))})")
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, 1.0)


def reachable(address: str, timeout: float = 2.0) -> bool:
    """True when a Flink REST API answers at `address` (a cheap GET /config)."""
    try:
        get(address, "/config", timeout=timeout)
    except RestError:
        return False
    return True
