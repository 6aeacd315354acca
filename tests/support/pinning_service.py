"""A small real IPFS Pinning Service API server on 127.0.0.1 (the subset publish uses).

POST /pins queues a pin; GET /pins/{requestid} reports it queued for ``polls_before_done``
polls, then pinned (or failed for CIDs in ``fail``). Every request needs the Bearer token;
errors use the spec's ``{"error": {"reason", "details"}}`` body.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.support.index import JsonHandler, serve_handler


@dataclass
class PinningServiceState:
    token: str
    polls_before_done: int = 1
    fail: set[str] = field(default_factory=set)
    pins: dict[str, dict] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str, dict | None]] = field(default_factory=list)


def _handler(state: PinningServiceState) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _error(self, status: int, reason: str, details: str) -> None:
            self.send_json(status, {"error": {"reason": reason, "details": details}})

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {state.token}":
                return True
            self._error(401, "UNAUTHORIZED", "access token is missing or wrong")
            return False

        def _status(self, requestid: str) -> dict:
            pin = state.pins[requestid]
            polls = state.polls[requestid]
            done = "failed" if pin["cid"] in state.fail else "pinned"
            status = done if polls >= state.polls_before_done else "queued"
            return {
                "requestid": requestid,
                "status": status,
                "created": "2026-01-01T00:00:00Z",
                "pin": pin,
                "delegates": ["/ip4/127.0.0.1/tcp/4001/p2p/QmService"],
            }

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            state.requests.append(("POST", self.path, body))
            if not self._authorised():
                return
            if self.path != "/pins":
                return self._error(404, "NOT_FOUND", self.path)
            if not isinstance(body, dict) or not isinstance(body.get("cid"), str):
                return self._error(400, "BAD_REQUEST", "cid is required")
            requestid = uuid.uuid4().hex
            state.pins[requestid] = {k: body[k] for k in ("cid", "name", "origins") if k in body}
            state.polls[requestid] = 0
            self.send_json(202, self._status(requestid))

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, None))
            if not self._authorised():
                return
            requestid = self.path.removeprefix("/pins/")
            if requestid not in state.pins:
                return self._error(404, "NOT_FOUND", "no such pin request")
            state.polls[requestid] += 1
            self.send_json(200, self._status(requestid))

    return Handler


@contextmanager
def serve_pinning_service(state: PinningServiceState) -> Iterator[str]:
    """Run the service; yield its base URL (no trailing slash)."""
    with serve_handler(_handler(state)) as url:
        yield url
