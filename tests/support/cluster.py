"""A loopback stand-in for an IPFS Cluster peer's REST API, pinning on a real node.

No Cluster daemon is installable here, so this implements the endpoints wheelset uses as
the Cluster documents them: ``POST /pins/{cid}`` (query options ``name``, ``mode``,
``replication-min``, ``replication-max``, ``pin-update``) starts a recursive pin of the CID
on the real js-ipfs node behind it, and ``GET /pins/{cid}`` answers the pin's
``peer_map``: the real node's peer ``pinning`` until the node pins it, then ``pinned`` (or
``pin_error`` with the node's message); an extra peer is ``remote`` (not allocated). Every
request needs the Bearer token; errors are the API's ``{"code", "message"}``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.index import JsonHandler, serve_handler


@dataclass
class ClusterState:
    token: str
    node_api: str
    fail: set[str] = field(default_factory=set)  # CIDs the peer reports pin_error for
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)


def _pin_on_node(state: ClusterState, cid: str) -> None:
    response = httpx.post(
        f"{state.node_api}/api/v0/pin/add",
        params={"arg": cid, "recursive": "true", "timeout": "60s"},
        timeout=90,
    )
    if response.status_code == 200:
        state.done.add(cid)
    else:
        state.errors[cid] = response.json().get("Message", response.text)


@contextmanager
def serve_cluster(state: ClusterState) -> Iterator[str]:
    peer = httpx.post(f"{state.node_api}/api/v0/id", timeout=30).json()["ID"]

    class Handler(JsonHandler):
        def _request(self, method: str) -> tuple[str, dict[str, str]] | None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            state.requests.append((method, parts.path, query))
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self.send_json(401, {"code": 401, "message": "invalid token"})
                return None
            if not parts.path.startswith("/pins/"):
                self.send_json(404, {"code": 404, "message": "not found"})
                return None
            return parts.path.removeprefix("/pins/"), query

        def do_POST(self) -> None:
            got = self._request("POST")
            if got is None:
                return
            cid, _ = got
            if cid in state.fail:
                state.errors[cid] = "context deadline exceeded"
            else:
                threading.Thread(target=_pin_on_node, args=(state, cid), daemon=True).start()
            self.send_json(200, {"cid": cid, "allocations": [peer]})

        def do_GET(self) -> None:
            got = self._request("GET")
            if got is None:
                return
            cid, _ = got
            if cid in state.errors:
                mine = {"status": "pin_error", "error": state.errors[cid]}
            else:
                mine = {"status": "pinned" if cid in state.done else "pinning", "error": ""}
            peer_map = {
                peer: {"peername": "test", **mine},
                "12D3KooWOtherPeerNotAllocated": {"peername": "other", "status": "remote"},
            }
            self.send_json(
                200, {"cid": cid, "name": "", "allocations": [peer], "peer_map": peer_map}
            )

    with serve_handler(Handler) as url:
        yield url
