"""The index as an ASGI application: verified, read-only PEP 503/691 pages and files.

Routes, per root (``/simple/…`` for the one root of ``wheelset serve ROOT``,
``/NAME/simple/…`` for each root of a config file): ``simple/`` (all projects),
``simple/<project>/`` (HTML, or JSON when asked), ``files/<cid>/<wheel>[.metadata]`` (only
files of that root's projects: no open proxy). ``/healthz`` says whether every root is
open; ``/metrics`` is Prometheus text. Pages are rendered once per project and root.

A file is sent only once its CID, size and sha256 are verified: found in the one cache and
hashed, else copied in from a build directory's tree when the root is one (``build
--with-wheels`` and ``--with-metadata`` put its wheels and METADATA files there), else
fetched through the gateways into it, the first time this process sends it; after that
the cache recognises the very same file (open_verified()) and it goes out without hashing.
Blocking work (reading a root, fetching, hashing, bcrypt) runs on a thread pool; the event
loop only routes and sends.

Roots given as mutable names or build directories are looked at again every ``refresh``
seconds and on reload (SIGHUP, which also re-reads the config and htpasswd files): a root
that moved is swapped in as a whole, atomically; a request keeps the root it started with.
Each request is logged on the ``wheelset.serve.access`` logger as one line (client,
user, method, path, status, bytes, milliseconds; never credentials or query strings).
Entry points: create_app(), IndexApp.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from wheelset.client.root import (
    Root,
    name_of,
    open_root,
    parse_root_ref,
    resolve_name,
    root_resolver,
    tree_copy_failure,
)
from wheelset.errors import CacheError, ContentMismatch, RootError, WheelsetError
from wheelset.fetch.cache import Cache, default_cache_dir
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.ipfs.gateway import FetchError, GatewayFetcher, gateway_urls
from wheelset.serve.auth import Credentials, read_htpasswd
from wheelset.serve.config import (
    ANYONE_AUTHENTICATED,
    RootSpec,
    Settings,
    read_config,
    settings_from_env,
)
from wheelset.serve.metrics import Metrics
from wheelset.serve.simple import (
    JSON,
    negotiate,
    render_project_html,
    render_project_json,
    render_root_json,
)

__all__ = ["IndexApp", "create_app"]

ACCESS_LOG = logging.getLogger("wheelset.serve.access")
EVENTS = logging.getLogger("wheelset.serve")
MAX_PATH = 4096  # characters; longer is no URL of this index (414)
_WHOLE = 1 << 20  # bytes: files up to this size are sent in one message
_CHUNK = 1 << 20  # bytes per message for larger ones
_THREADS = 32  # blocking tasks at a time (root reads, fetches, first hashes, bcrypt)
_Send = Callable[[dict[str, Any]], Awaitable[None]]
_MISSING = object()


@dataclass(frozen=True, slots=True)
class _File:
    cid: CID
    size: int | None
    sha256: str | None
    name: str
    project: str


@dataclass(slots=True)
class _Served:
    """One opened root and what was rendered from it (pages are rendered once)."""

    spec: RootSpec
    root: Root
    listing: tuple[bytes, bytes] | None = None
    pages: dict[str, tuple[bytes, bytes] | None] = field(default_factory=dict)
    files: dict[tuple[str, str], _File | None] = field(default_factory=dict)

    def root_pages(self) -> tuple[bytes, bytes]:
        # HTML: the root's own page (the project table people browse), verified like any
        # file of the root; JSON: rendered here, with links this server answers.
        if self.listing is None:
            names = self.root.names()
            html = self.root.page()
            if html is None:
                from wheelset.build.pages import ProjectRow, render_root_page

                html = render_root_page(map(ProjectRow, names))
            self.listing = (html, render_root_json(names))
        return self.listing

    def project_pages(self, project: str) -> tuple[bytes, bytes] | None:
        entries = self.root.project(project)
        pages = None
        if entries is not None:
            html = self.root.page(project) or render_project_html(project, entries)
            pages = (html, render_project_json(project, entries))
        self.pages[project] = pages
        return pages

    def file_named(self, project: str, name: str) -> _File | None:
        """A file a root's own project page links by name (``<filename>``, and
        ``<filename>.metadata``)."""
        wheel = name.removesuffix(".metadata")
        for entry in self.root.project(project) or ():
            if entry.declaration.filename == wheel:
                return self.file(str(entry.declaration.content_id), name)
        return None

    def file(self, cid_text: str, name: str) -> _File | None:
        found = None
        try:
            cid = parse_cid(cid_text)
            wheel = name.removesuffix(".metadata")
            project = parse_wheel_filename(wheel)[0]
        except (InvalidCID, InvalidWheelFilename):
            cid = None
        for entry in (self.root.project(project) or ()) if cid is not None else ():
            decl = entry.declaration
            if decl.content_id != cid or decl.filename != wheel:
                continue
            if name == wheel:
                found = _File(decl.content_id, decl.size, decl.sha256, decl.filename, decl.name)
            elif entry.metadata is not None:
                meta = entry.metadata
                found = _File(meta.content_id, meta.size, meta.sha256, name, decl.name)
        self.files[(cid_text, name)] = found
        return found


@dataclass(frozen=True, slots=True)
class _Setup:
    """What one configuration serves; replaced as a whole on reload or when a root moves."""

    settings: Settings
    credentials: Credentials
    roots: Mapping[str, _Served]


class _Reply(Exception):
    """An early answer (error, redirect) while routing."""

    def __init__(self, status: int, text: str = "", headers: tuple[tuple[bytes, bytes], ...] = ()):
        self.status, self.text, self.headers = status, text, headers


_UNAUTHORIZED = (
    (b"www-authenticate", b'Basic realm="wheelset", charset="UTF-8"'),
    (b"www-authenticate", b'Bearer realm="wheelset"'),
)


class IndexApp:
    """The ASGI application over ``settings``; opening it opens (and verifies) every root.

    Raises (from the constructor):
        WheelsetError: a root cannot be opened, or a config or htpasswd file is unusable.
    """

    def __init__(self, settings: Settings, *, http: Any = None):
        from wheelset.fetch.http import new_client

        self._http = http or new_client(settings.timeout, connections=_THREADS)
        self._pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="wheelset-serve")
        self.metrics = Metrics(settings.metrics_dir)
        self._fetcher = GatewayFetcher(
            gateway_urls(settings.gateways, http=self._http),
            http=self._http,
            timeout=settings.timeout,
        )
        self._cache = Cache(settings.cache_dir or default_cache_dir())
        self._resolver = root_resolver(
            self._fetcher, self._cache.directory, api=settings.api, http=self._http,
            timeout=settings.timeout,
        )  # fmt: skip
        self._reload_lock = threading.Lock()
        self._setup = self._load(settings, {})
        self._tasks: list[asyncio.Task[None]] = []

    # -- configuration --------------------------------------------------------------------

    def _open(self, spec: RootSpec, settings: Settings, previous: Mapping[str, _Served]) -> _Served:
        rpc = None
        if settings.api:
            from wheelset.ipfs.rpc import KuboRpc

            rpc = KuboRpc(settings.api, http=self._http, timeout=settings.timeout)
        resolved = resolve_name(spec.ref, rpc)
        ref = parse_root_ref(resolved or spec.ref)
        root = open_root(ref, self._resolver, named_gateways=bool(settings.gateways))
        old = previous.get(spec.name)
        if old is not None and old.root.cid == root.cid:
            return _Served(spec, old.root, old.listing, old.pages, old.files)
        if old is not None:
            EVENTS.info("root %s moved: %s -> %s", spec.name or "/", old.root.cid, root.cid)
        return _Served(spec, root)

    def _load(self, settings: Settings, previous: Mapping[str, _Served]) -> _Setup:
        users = read_htpasswd(settings.htpasswd) if settings.htpasswd else {}
        credentials = Credentials(users, settings.tokens)
        roots = {spec.name: self._open(spec, settings, previous) for spec in settings.roots}
        return _Setup(settings, credentials, roots)

    def reload(self) -> None:
        """Re-read the config and htpasswd files and look at every root again (blocking).

        Raises:
            WheelsetError: the new configuration is unusable (the old one stays).
        """
        with self._reload_lock:
            setup = self._setup
            settings = setup.settings
            if settings.config is not None:
                settings = read_config(settings.config, settings)
            self._setup = self._load(settings, setup.roots)

    def refresh(self) -> None:
        """Look at roots that can move (names, build directories) again (blocking)."""
        with self._reload_lock:
            setup = self._setup
            roots = dict(setup.roots)
            for name, served in setup.roots.items():
                ref = served.spec.ref
                if name_of(ref) is not None or parse_root_ref(ref).directory is not None:
                    roots[name] = self._open(served.spec, setup.settings, setup.roots)
            self._setup = _Setup(setup.settings, setup.credentials, roots)

    async def _in_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def _background(self, what: str, function: Callable[[], None]) -> None:
        try:
            await self._in_thread(function)
        except WheelsetError as e:
            EVENTS.error("%s failed, still serving as before: %s", what, e.one_line())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._setup.settings.refresh)
            await self._background("refresh", self.refresh)
            self.metrics.save()

    async def _save_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.metrics.save()

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: _Send) -> None:
        if scope["type"] == "http":
            await self._request(scope, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: _Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                self._tasks = [loop.create_task(self._refresh_loop())]
                if self.metrics_shared:
                    self._tasks.append(loop.create_task(self._save_loop()))
                with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                    # Only where this process owns the signal (not under a supervisor).
                    loop.add_signal_handler(
                        signal.SIGHUP,
                        self._on_hangup,
                    )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                self.metrics.save()
                self._pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _on_hangup(self) -> None:
        self._tasks.append(
            asyncio.get_running_loop().create_task(self._background("reload", self.reload))
        )

    @property
    def has_auth(self) -> bool:
        return self._setup.credentials.enabled

    def roots(self) -> list[tuple[str, CID]]:
        """(name, root CID) of each served root ("" for the one at /simple/)."""
        return [(name, served.root.cid) for name, served in self._setup.roots.items()]

    @property
    def metrics_shared(self) -> bool:
        return self._setup.settings.metrics_dir is not None

    async def _request(self, scope: dict[str, Any], send: _Send) -> None:
        started = time.perf_counter()
        setup = self._setup  # this request's roots, whatever moves meanwhile
        user = "-"
        root_label = "-"
        sent = 0
        status = 500
        head = scope["method"] == "HEAD"
        try:
            try:
                if scope["method"] not in ("GET", "HEAD"):
                    raise _Reply(405, "only GET and HEAD\n", ((b"allow", b"GET, HEAD"),))
                path = scope["path"]
                if len(path) > MAX_PATH:
                    raise _Reply(414, "URL too long\n")
                if not path.isprintable():  # NUL and control characters: no name of ours
                    raise _Reply(400, "bad characters in the path\n")
                headers = _headers(scope)
                if path == "/healthz":
                    status, sent = await _send_bytes(send, 200, b"text/plain", b"ok\n", head)
                    return
                if path == "/metrics":
                    body = self.metrics.render()
                    kind = b"text/plain; version=0.0.4; charset=utf-8"
                    status, sent = await _send_bytes(send, 200, kind, body, head)
                    return
                served, prefix, rest = _route(setup, path)
                root_label = served.spec.name or "/"
                user = await self._authorise(setup, served, headers.get(b"authorization"))
                status, sent = await self._answer(served, prefix, rest, headers, send, head)
            except _Reply as reply:
                body = reply.text.encode()
                status, sent = await _send_bytes(
                    send, reply.status, b"text/plain; charset=utf-8", body, head, reply.headers
                )
            except WheelsetError as e:  # a root or file could not be read or verified
                EVENTS.error("%s", e.one_line())
                body = f"{e.one_line()}\n".encode()
                status, sent = await _send_bytes(
                    send, 502, b"text/plain; charset=utf-8", body, head
                )
        finally:
            self.metrics.request(root_label, status, sent)
            ACCESS_LOG.info(
                '%s %s "%s %s" %d %d %.1fms',
                (scope.get("client") or ("-",))[0],
                user,
                scope["method"],
                _printable(scope["path"]),
                status,
                sent,
                (time.perf_counter() - started) * 1000,
            )

    async def _authorise(self, setup: _Setup, served: _Served, authorization: bytes | None) -> str:
        credentials = setup.credentials
        if not credentials.enabled:
            return "-"
        header = authorization.decode("latin-1") if authorization else None
        who = credentials.quick(header)
        if who is True:
            who = await self._in_thread(credentials.check, header) or False
        if who is None:
            raise _Reply(401, "authentication required\n", _UNAUTHORIZED)
        if who is False:
            raise _Reply(401, "wrong credentials\n", _UNAUTHORIZED)
        allow = served.spec.allow
        if allow is not None and ANYONE_AUTHENTICATED not in allow and who not in allow:
            raise _Reply(403, f"{who} may not read this root\n")
        return str(who)

    async def _answer(
        self,
        served: _Served,
        prefix: str,
        rest: list[str],
        headers: Mapping[bytes, bytes],
        send: _Send,
        head: bool,
    ) -> tuple[int, int]:
        if rest == ["simple", ""]:
            pages = served.listing or await self._in_thread(served.root_pages)
            return await _send_page(send, pages, headers, head)
        if len(rest) == 3 and rest[0] == "simple" and rest[2] not in ("", rest[1]):
            wanted = await self._in_thread(served.file_named, rest[1], rest[2])
            return await self._send_file(served, wanted, rest[2], send, head)
        if len(rest) in (2, 3) and rest[0] == "simple" and rest[-1] in ("", rest[1]):
            project = canonicalize_name(rest[1])
            if project != rest[1] or len(rest) == 2:
                raise _Reply(301, headers=((b"location", f"{prefix}/simple/{project}/".encode()),))
            found = served.pages.get(project, _MISSING)
            if found is _MISSING:
                found = await self._in_thread(served.project_pages, project)
            if found is None:
                raise _Reply(404, f"no project {project}\n")
            return await _send_page(send, found, headers, head)  # type: ignore[arg-type]
        if len(rest) == 3 and rest[0] == "files":
            wanted = served.files.get((rest[1], rest[2]), _MISSING)
            if wanted is _MISSING:
                wanted = await self._in_thread(served.file, rest[1], rest[2])
            return await self._send_file(served, wanted, rest[2], send, head)
        if rest in (["simple"], [""]):
            raise _Reply(301, headers=((b"location", f"{prefix}/simple/".encode()),))
        raise _Reply(404, "not found\n")

    async def _send_file(
        self, served: _Served, wanted: _File | None, name: str, send: _Send, head: bool
    ) -> tuple[int, int]:
        if wanted is None:
            raise _Reply(404, "not a file of this root\n")
        f = self._cache.open_verified(
            wanted.cid, wanted.name, size=wanted.size, sha256=wanted.sha256
        )
        if f is None:
            f = await self._in_thread(self._obtain, wanted, served.root)
        else:
            self.metrics.add("wheelset_serve_cache_hits_total")
        with f:
            size = os.fstat(f.fileno()).st_size
            kind = b"text/plain" if name.endswith(".metadata") else b"application/octet-stream"
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", kind),
                        (b"content-length", str(size).encode()),
                        (b"cache-control", b"public, max-age=31536000, immutable"),
                    ],
                }
            )
            if head:
                await send({"type": "http.response.body", "body": b""})
                return 200, 0
            if size <= _WHOLE:  # from the page cache: faster than a thread hop
                await send({"type": "http.response.body", "body": f.read()})
                return 200, size
            sent = 0
            while chunk := await self._in_thread(f.read, _CHUNK):
                sent += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return 200, sent

    def _obtain(self, wanted: _File, root: Root) -> BinaryIO:
        """The verified file, open: hashed in the cache, or copied from the root's build
        directory, or fetched (blocking)."""
        if root.tree is not None:
            self._copy_from_tree(wanted, root)
        started = time.perf_counter()
        try:
            got = self._cache.obtain(
                wanted.cid, self._fetcher, wanted.name, size=wanted.size, sha256=wanted.sha256,
                label=wanted.name,
            )  # fmt: skip
        except FetchError as e:
            self._count_failures(e.failures)
            self.metrics.add("wheelset_serve_upstream_errors_total")
            raise
        self._count_failures(got.failures)
        if got.source == "cache":
            self.metrics.add("wheelset_serve_cache_hits_total")
        else:
            self.metrics.add("wheelset_serve_cache_misses_total")
            self.metrics.upstream(time.perf_counter() - started)
        f = self._cache.open_verified(
            wanted.cid, wanted.name, size=wanted.size, sha256=wanted.sha256
        )
        if f is None:  # fetched just now: hashed once more, then remembered
            self._cache.cached(wanted.cid, wanted.name, size=wanted.size, sha256=wanted.sha256)
            f = self._cache.open_verified(
                wanted.cid, wanted.name, size=wanted.size, sha256=wanted.sha256
            )
        if f is None:
            raise CacheError("the cached copy changed while it was being sent", path=wanted.name)
        return f

    def _copy_from_tree(self, wanted: _File, root: Root) -> None:
        """Put the build directory's copy of the file in the cache, verified in the one pass
        that copies it (Root.copy_file); a copy that fails verification is logged and
        counted, and the gateways are next."""
        if self._cache.cached(wanted.cid, wanted.name, size=wanted.size, sha256=wanted.sha256):
            return
        try:
            with self._cache.temp_writer(wanted.name) as (sink, tmp):
                digest = root.copy_file(
                    wanted.project, wanted.name, wanted.cid, size=wanted.size,
                    sha256=wanted.sha256, on_chunk=sink.write,
                )  # fmt: skip
                sink.close()
                if digest is not None:
                    self._cache.put_file(digest, wanted.name, tmp)
        except (ContentMismatch, RootError) as e:
            self._count_failures([tree_copy_failure(e)])

    def _count_failures(self, failures: Any) -> None:
        for failure in failures:
            if failure.kind in ("mismatch", "rejected", "invalid"):
                self.metrics.add("wheelset_serve_verification_failures_total")
            EVENTS.warning("%s", failure)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope["headers"] if k.lower() in (b"accept", b"authorization")}


def _route(setup: _Setup, path: str) -> tuple[_Served, str, list[str]]:
    """The root a path is under, its URL prefix, and the rest of the path's segments."""
    parts = path.split("/")
    if len(parts) < 2 or parts[0] != "":
        raise _Reply(404, "not found\n")
    if "" in setup.roots and parts[1] in ("simple", "files", ""):
        return setup.roots[""], "", parts[1:]
    served = setup.roots.get(parts[1])
    if served is None or parts[1] == "":
        raise _Reply(404, "no such root\n")
    return served, f"/{parts[1]}", parts[2:] or [""]


async def _send_page(
    send: _Send, pages: tuple[bytes, bytes], headers: Mapping[bytes, bytes], head: bool
) -> tuple[int, int]:
    kind = negotiate(headers.get(b"accept", b"").decode("latin-1"))
    body = pages[1] if kind == JSON else pages[0]
    return await _send_bytes(send, 200, kind.encode(), body, head, ((b"vary", b"Accept"),))


async def _send_bytes(
    send: _Send,
    status: int,
    kind: bytes,
    body: bytes,
    head: bool,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> tuple[int, int]:
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
    return status, 0 if head else len(body)


def _printable(path: str) -> str:
    shown = path if len(path) <= 200 else path[:200] + "…"
    return shown.encode("unicode_escape").decode("ascii").replace('"', "%22")


def create_app() -> IndexApp:
    """The application of the settings in the environment (see wheelset.serve.config), for
    ASGI servers: ``gunicorn -k uvicorn_worker.UvicornWorker 'wheelset.serve.app:create_app()'``.

    Raises:
        WheelsetError: the settings are unusable or a root cannot be opened.
    """
    if not logging.getLogger().handlers and not EVENTS.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        EVENTS.addHandler(handler)
        EVENTS.setLevel(logging.INFO)
    return IndexApp(settings_from_env())
