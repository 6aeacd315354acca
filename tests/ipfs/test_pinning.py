"""The Pinning Service API client against a real (small) pinning service on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from tests.support.pinning_service import PinningServiceState, serve_pinning_service
from wheelset.ipfs.cid import parse_cid
from wheelset.ipfs.pinning import PinningService, PinningServiceError

ROOT = parse_cid("QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY")


def _no_sleep(seconds: float) -> None:
    pass


def test_pin_is_queued_then_pinned() -> None:
    state = PinningServiceState(token="secret", polls_before_done=3)
    with serve_pinning_service(state) as url, httpx.Client() as http:
        service = PinningService(url, "secret", http=http)
        queued = service.add(ROOT, name="wheelset test", origins=["/ip4/127.0.0.1/tcp/1"])
        assert queued.status == "queued"
        done = service.wait(queued, timeout=30, sleep=_no_sleep)
    assert done.status == "pinned" and done.cid == str(ROOT)
    assert state.polls[done.requestid] == 3
    method, path, body = state.requests[0]
    assert (method, path) == ("POST", "/pins")
    assert body == {"cid": str(ROOT), "name": "wheelset test", "origins": ["/ip4/127.0.0.1/tcp/1"]}


def test_failed_pin_is_final() -> None:
    state = PinningServiceState(token="t", fail={str(ROOT)})
    with serve_pinning_service(state) as url, httpx.Client() as http:
        service = PinningService(url, "t", http=http)
        assert service.wait(service.add(ROOT), timeout=30, sleep=_no_sleep).status == "failed"


def test_wrong_token_is_one_clear_line() -> None:
    with (
        serve_pinning_service(PinningServiceState(token="right")) as url,
        httpx.Client() as http,
        pytest.raises(PinningServiceError) as info,
    ):
        PinningService(url, "wrong", http=http).add(ROOT)
    assert info.value.code == "PINNING"
    assert "401 UNAUTHORIZED" in info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_still_queued_after_timeout() -> None:
    state = PinningServiceState(token="t", polls_before_done=10**6)
    with serve_pinning_service(state) as url, httpx.Client() as http:
        service = PinningService(url, "t", http=http)
        with pytest.raises(PinningServiceError, match="still queued"):
            service.wait(service.add(ROOT), timeout=0.2, interval=0.05)


def test_unreachable_service() -> None:
    with httpx.Client() as http, pytest.raises(PinningServiceError, match="cannot reach"):
        PinningService("http://127.0.0.1:1", "t", http=http).add(ROOT)
