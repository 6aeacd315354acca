"""A client for the Kubo RPC API (`POST /api/v0/<command>`), also served by js-ipfs.

Reference: https://docs.ipfs.tech/reference/kubo/rpc/ . Every call is a POST with the
arguments in the query string and files as multipart parts; errors come back as JSON
``{"Message", "Code", "Type"}`` and become RpcError with the node's message. The HTTP
client is injected. Knows nothing about wheels. Entry points: KuboRpc, RpcError.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import httpx

from wheelset.errors import RpcError
from wheelset.httpbody import MAX_BODY_EXTENSION, MIN_RATE_EXTENSION
from wheelset.ipfs.cid import CID, DAG_PB, SHA2_256, InvalidCID, parse_cid
from wheelset.ipfs.dagpb import PBLink
from wheelset.ipfs.loopback import call_failure, error_message

__all__ = ["ImportedRoot", "KuboRpc", "RpcError"]

DEFAULT_TIMEOUT = 300.0  # seconds per call; adding a large file takes a while
_Params = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True, slots=True)
class ImportedRoot:
    """A root reported by `dag/import`; ``pin_error`` is empty when it was pinned."""

    cid: CID
    pin_error: str


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _seconds(timeout: float) -> str:
    return f"{max(1, round(timeout))}s"


class KuboRpc:
    """Calls on one node's RPC API, e.g. ``KuboRpc("http://127.0.0.1:5001", http=client)``."""

    def __init__(self, api_url: str, *, http: httpx.Client, timeout: float = DEFAULT_TIMEOUT):
        self.api_url = api_url.rstrip("/")
        self._http = http
        self.timeout = timeout

    def _post(
        self,
        command: str,
        params: _Params | None = None,
        *,
        files: Mapping[str, object] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        url = f"{self.api_url}/api/v0/{command}"
        try:
            response = self._http.post(
                url,
                params=params,
                files=files,  # type: ignore[arg-type]
                timeout=timeout or self.timeout,
                extensions={MIN_RATE_EXTENSION: 0},
            )
        except httpx.HTTPError as e:
            raise _call_failure(e, command, self.api_url) from e
        if response.status_code != 200:
            raise RpcError(f"{command}: {_error_message(response, self.api_url)}")
        return response

    def _json_lines(self, response: httpx.Response, command: str) -> Iterator[dict]:
        for line in response.text.splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise RpcError(f"{command}: the node sent something that is not JSON") from e
            if not isinstance(item, dict):
                raise RpcError(f"{command}: unexpected answer {line[:100]!r}")
            if item.get("Type") == "error" and "Message" in item:
                raise RpcError(f"{command}: {item['Message']}")
            yield item

    def version(self) -> str:
        """The node's version string (also a cheap reachability check)."""
        item = next(self._json_lines(self._post("version"), "version"), {})
        return str(item.get("Version", "?"))

    def id(self) -> dict:
        """The node's identity: ``ID`` and the multiaddrs it listens on (``Addresses``)."""
        return next(self._json_lines(self._post("id"), "id"), {})

    def add(
        self,
        stream: BinaryIO | bytes,
        name: str,
        *,
        pin: bool = True,
        cid_version: int = 0,
        raw_leaves: bool | None = None,
        only_hash: bool = False,
        wrap: bool = False,
    ) -> list[PBLink]:
        """Add one file (streamed); return every entry the node reports as a link (name, CID,
        cumulative size); the last is the root.

        The DAG options are sent explicitly, so a node configured with other import
        defaults still gives the CID `ipfs add` gives with Kubo's defaults.
        """
        params = {
            "pin": _flag(pin),
            "cid-version": str(cid_version),
            "raw-leaves": _flag(cid_version == 1 if raw_leaves is None else raw_leaves),
            "chunker": "size-262144",
            "trickle": "false",
            "only-hash": _flag(only_hash),
            "wrap-with-directory": _flag(wrap),
        }
        response = self._post(
            "add", params, files={"file": (name, stream, "application/octet-stream")}
        )
        return [
            PBLink(self._cid(item.get("Hash"), "add"), str(item.get("Name", "")), int(item["Size"]))
            for item in self._json_lines(response, "add")
            if "Hash" in item
        ]

    def dag_import(self, car: BinaryIO | bytes, *, pin_roots: bool = True) -> list[ImportedRoot]:
        """Import a CAR; with ``pin_roots`` the node pins its roots and reports each one.

        The node pins recursively, so a root is pinned only once every block below it
        (wheels included) is on the node; otherwise a node may wait for them to appear.
        """
        response = self._post(
            "dag/import",
            {"pin-roots": _flag(pin_roots)},
            files={"file": ("root.car", car, "application/vnd.ipld.car")},
        )
        roots = []
        for item in self._json_lines(response, "dag/import"):
            root = item.get("Root")
            if isinstance(root, dict):
                cid = root.get("Cid")
                text = cid.get("/") if isinstance(cid, dict) else cid
                roots.append(
                    ImportedRoot(self._cid(text, "dag/import"), str(root.get("PinErrorMsg", "")))
                )
        return roots

    def pin_add(self, cid: CID, *, timeout: float | None = None) -> None:
        """Pin recursively; the node fetches what it lacks, up to ``timeout`` seconds."""
        timeout = timeout or self.timeout
        params = {"arg": str(cid), "recursive": "true", "timeout": _seconds(timeout)}
        self._post("pin/add", params, timeout=timeout + 10)

    def pin_ls(self) -> set[CID]:
        """Every recursively pinned CID (one call, local to the node)."""
        response = self._post("pin/ls", {"type": "recursive"})
        pinned: set[CID] = set()
        for item in self._json_lines(response, "pin/ls"):
            keys = item.get("Keys")
            texts = keys if isinstance(keys, dict) else [item.get("Cid", "")]
            for text in texts:
                try:
                    pinned.add(parse_cid(str(text)))
                except InvalidCID:
                    continue  # a pin of a kind we never create (e.g. another hash function)
        return {_as_v0(c) for c in pinned}

    def pin_rm(self, cid: CID) -> None:
        """Remove the recursive pin of ``cid`` (its blocks stay until the node's own gc)."""
        self._post("pin/rm", {"arg": str(cid), "recursive": "true"})

    def name_publish(
        self, cid: CID, *, key: str, lifetime: str = "24h", allow_offline: bool = True
    ) -> str:
        """Point the IPNS name of ``key`` at ``/ipfs/<cid>``; return the name.

        ``allow_offline`` lets a node without peers sign and store the record (it is
        announced when the node is online).
        """
        params = {
            "arg": f"/ipfs/{cid}",
            "key": key,
            "lifetime": lifetime,
            "allow-offline": _flag(allow_offline),
            "resolve": "false",
        }
        item = next(self._json_lines(self._post("name/publish", params), "name/publish"), {})
        name = item.get("Name")
        if not isinstance(name, str) or not name:
            raise RpcError("name/publish: the node did not say which name it published")
        return name

    def name_resolve(self, path: str, *, timeout: float | None = None) -> str:
        """Resolve a mutable path (``/ipns/<name or DNSLink domain>``) to the ``/ipfs/…``
        path it points at now (recursively, through names pointing at names)."""
        timeout = timeout or self.timeout
        # nocache: a follower must see a record published a second ago. A node without
        # network (js-ipfs offline) refuses it, and has only its own records: no cache.
        params = {"arg": path, "recursive": "true", "nocache": "true", "timeout": _seconds(timeout)}
        try:
            response = self._post("name/resolve", params, timeout=timeout + 10)
        except RpcError as e:
            if "offline and nocache" not in str(e):
                raise
            params["nocache"] = "false"
            response = self._post("name/resolve", params, timeout=timeout + 10)
        item = next(self._json_lines(response, "name/resolve"), {})
        target = item.get("Path")
        if not isinstance(target, str) or not target.startswith("/ipfs/"):
            raise RpcError(f"name/resolve {path}: the node answered {target!r}, not /ipfs/…")
        return target

    def block_get(
        self, cid: CID, *, timeout: float = 30.0, max_size: int = 2 << 20, offline: bool = False
    ) -> bytes:
        """The raw bytes of one block, as the node has them (unverified: the caller checks
        them against ``cid``). ``offline``: only from the node's own store (Kubo's global
        ``--offline`` option; a lacking block is refused at once instead of searched for).

        Raises:
            RpcError: the node lacks the block (within ``timeout``), or sent more than
                ``max_size`` bytes.
        """
        params = {"arg": str(cid), "timeout": _seconds(timeout)}
        if offline:
            params["offline"] = "true"
        data = self._post("block/get", params, timeout=timeout + 10).content
        if len(data) > max_size:
            raise RpcError(f"block/get {cid}: the node sent {len(data)} bytes")
        return data

    @contextlib.contextmanager
    def dag_export(
        self, cid: CID, *, max_size: int, timeout: float | None = None, offline: bool = False
    ) -> Iterator[BinaryIO]:
        """The CARv1 of the whole DAG below ``cid`` as the node streams it (unverified: the
        caller checks every block); at most ``max_size`` bytes are read, within ``timeout``
        seconds (the node ends the CAR then). ``offline`` as in block_get().

        Raises:
            RpcError: the node refused or could not be reached, or sent more than
                ``max_size`` bytes, also while the body streams.
        """
        from wheelset.httpbody import ChunkReader, TooLong

        timeout = timeout or self.timeout
        params = {"arg": str(cid), "timeout": _seconds(timeout)}
        if offline:
            params["offline"] = "true"
        url = f"{self.api_url}/api/v0/dag/export"
        try:
            with self._http.stream(
                "POST",
                url,
                params=params,
                timeout=timeout + 10,
                extensions={MIN_RATE_EXTENSION: 0, MAX_BODY_EXTENSION: max_size},
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise RpcError(f"dag/export: {_error_message(response, self.api_url)}")
                chunks = response.iter_bytes(1 << 16)
                yield io.BufferedReader(ChunkReader(chunks, max_size), 1 << 16)
        except TooLong as e:
            raise RpcError(f"dag/export: the node sent more than {max_size} bytes") from e
        except httpx.HTTPError as e:
            raise _call_failure(e, "dag/export", self.api_url) from e

    def _cid(self, text: object, command: str) -> CID:
        try:
            return parse_cid(str(text))
        except InvalidCID as e:
            raise RpcError(f"{command}: the node reported an invalid CID {text!r}") from e


def _as_v0(cid: CID) -> CID:
    """Nodes may list dag-pb sha2-256 pins as CIDv1; compare them in the v0 form we declare."""
    if cid.version == 1 and cid.codec == DAG_PB and cid.hash_code == SHA2_256:
        return CID(0, DAG_PB, cid.digest)
    return cid


def _call_failure(error: httpx.HTTPError, command: str, api_url: str) -> RpcError:
    timed_out = isinstance(error, httpx.TimeoutException)
    return call_failure(error, command, api_url, timed_out=timed_out)


def _error_message(response: httpx.Response, api_url: str) -> str:
    return error_message(response.status_code, response.reason_phrase, response.content, api_url)
