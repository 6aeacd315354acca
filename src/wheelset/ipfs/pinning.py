"""A client for the IPFS Pinning Service API v1 (ask a remote service to pin a CID).

Spec: https://ipfs.github.io/pinning-services-api-spec/ . ``POST /pins`` with a Bearer
token queues a pin and returns a PinStatus; ``GET /pins/{requestid}`` reports its progress
(queued → pinning → pinned | failed). Errors are ``{"error": {"reason", "details"}}``
and become PinningServiceError. The service fetches the blocks itself from the network
(``origins`` hints where). HTTP client injected; no wheels.
Entry points: PinningService, PinStatus, PinningServiceError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wheelset.errors import PinningServiceError
from wheelset.ipfs.cid import CID
from wheelset.ipfs.jsonapi import JsonApi

__all__ = ["FINAL_STATUSES", "PinStatus", "PinningService", "PinningServiceError"]

FINAL_STATUSES = frozenset({"pinned", "failed"})
_STATUSES = frozenset({"queued", "pinning", "pinned", "failed"})


@dataclass(frozen=True, slots=True)
class PinStatus:
    requestid: str
    status: str  # queued | pinning | pinned | failed
    cid: str
    name: str = ""


class PinningService(JsonApi):
    """One pinning service endpoint, e.g. ``PinningService(url, token, http=client)``."""

    service = "the pinning service"
    error = PinningServiceError

    def _refusal(self, method: str, path: str, status: int, doc: object, text: str) -> str:
        error = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(error, dict):
            reason, details = error.get("reason", ""), error.get("details", "")
            detail = f": {details}" if details else ""
            return f"pinning service refused (HTTP {status} {reason}){detail}"
        return f"pinning service refused (HTTP {status}): {' '.join(text.split())[:200]}"

    def _object(self, method: str, path: str, body: dict | None = None) -> dict:
        doc = self._request(method, path, body=body)
        if not isinstance(doc, dict):
            raise PinningServiceError(f"{method} {path}: the service's answer is not a JSON object")
        return doc

    def add(self, cid: CID, *, name: str = "", origins: Sequence[str] = ()) -> PinStatus:
        """Ask the service to pin ``cid``; returns the queued request."""
        body: dict[str, object] = {"cid": str(cid)}
        if name:
            body["name"] = name[:255]
        if origins:
            body["origins"] = list(origins)
        return _parse_status(self._object("POST", "/pins", body))

    def get(self, requestid: str) -> PinStatus:
        """The current status of a pin request."""
        return _parse_status(self._object("GET", f"/pins/{requestid}"))

    def wait(
        self,
        status: PinStatus,
        *,
        timeout: float,
        interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> PinStatus:
        """Poll until the request is pinned or failed.

        Raises:
            PinningServiceError: still queued or pinning after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while status.status not in FINAL_STATUSES:
            if time.monotonic() >= deadline:
                raise PinningServiceError(
                    f"pin request {status.requestid} for {status.cid} still {status.status} "
                    f"after {timeout:g}s; it may finish later"
                )
            sleep(interval)
            status = self.get(status.requestid)
        return status


def _parse_status(doc: dict) -> PinStatus:
    pin = doc.get("pin")
    requestid, status = doc.get("requestid"), doc.get("status")
    if not isinstance(requestid, str) or status not in _STATUSES or not isinstance(pin, dict):
        raise PinningServiceError("the service's answer is not a PinStatus")
    return PinStatus(requestid, str(status), str(pin.get("cid", "")), str(pin.get("name") or ""))
