"""The HTTP layer the remote pinning APIs share: JSON answers, an optional Bearer token.

The Pinning Service API and the IPFS Cluster REST API both answer JSON, take the same
token scheme and fail the same ways (unreachable, HTTP error with a JSON or text body); a
client says only what its service is called and how its error bodies read.
Entry point: JsonApi.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from wheelset.errors import WheelsetError
from wheelset.httpbody import describe_http_error

__all__ = ["JsonApi"]


class JsonApi:
    """One endpoint of a JSON API: ``base_url``, a token (or None), an injected client."""

    service: ClassVar[str]  # how messages name it: "the pinning service"
    error: ClassVar[type[WheelsetError]]

    def __init__(
        self, base_url: str, token: str | None, *, http: httpx.Client, timeout: float = 30.0
    ):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = http
        self._timeout = timeout

    def _refusal(self, method: str, path: str, status: int, doc: object, text: str) -> str:
        """The one-line message for an HTTP error answer."""
        raise NotImplementedError

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict | None = None,
    ) -> object:
        """The decoded JSON answer (None when the body is not JSON); errors raise ``error``."""
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._http.request(
                method,
                f"{self.base_url}{path}",
                params=params,
                json=body,
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as e:
            raise self.error(
                f"cannot reach {self.service} at {self.base_url}: {describe_http_error(e)}"
            ) from e
        try:
            doc = response.json()
        except ValueError:
            doc = None
        if response.status_code >= 400:
            raise self.error(self._refusal(method, path, response.status_code, doc, response.text))
        return doc
