"""What `serve` serves and to whom: the settings, from the environment and a TOML file.

Every setting has one environment variable, the one its `wheelset serve` option reads, so
the CLI, `wheelset serve --workers N` and an ASGI server running ``create_app()`` (gunicorn
with uvicorn workers) all start from the same place: settings_from_env(). Several roots,
users and access lists come from a config file (``WHEELSET_SERVE_CONFIG``)::

    htpasswd = "users.htpasswd"   # bcrypt only (htpasswd -B); relative to this file
    refresh = 60                  # seconds between looks at names and build directories

    [tokens]                      # bearer tokens: NAME = sha256 of the token (hex)
    ci = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

    [roots.main]
    root = "/ipns/k51…"           # a root CID, a build directory or a mutable name
    allow = ["alice", "ci"]       # users and tokens; "*": anyone authenticated

A root without ``allow`` is open to anyone authenticated — to anyone at all when no
users or tokens are configured. One root without a config file (``WHEELSET_SERVE_ROOT``)
is served at ``/simple/``; configured roots at ``/NAME/simple/``.
Entry points: Settings, RootSpec, settings_from_env(), read_config().
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from wheelset.errors import ServeError
from wheelset.ipfs.gateway import DEFAULT_TIMEOUT
from wheelset.model.canonical_toml import NotToml, read_toml
from wheelset.serve.defaults import DEFAULT_REFRESH

__all__ = [
    "ANYONE_AUTHENTICATED",
    "RootSpec",
    "Settings",
    "read_config",
    "settings_from_env",
]

ANYONE_AUTHENTICATED = "*"
_ROOT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
_RESERVED = frozenset({"simple", "files", "healthz", "metrics"})
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_TOP_KEYS = frozenset({"htpasswd", "refresh", "tokens", "roots"})
_ROOT_KEYS = frozenset({"root", "allow"})


@dataclass(frozen=True, slots=True)
class RootSpec:
    """One served root: ``ref`` as the user wrote it; ``allow`` None means the default."""

    name: str  # "" for the one root at /simple/
    ref: str
    allow: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the index application needs to start (and to re-read on reload)."""

    roots: tuple[RootSpec, ...]
    htpasswd: Path | None = None
    tokens: Mapping[str, str] = field(default_factory=dict)  # sha256 of token -> name
    refresh: float = DEFAULT_REFRESH
    config: Path | None = None  # the file roots, users and tokens came from
    gateways: tuple[str, ...] = ()
    api: str | None = None
    cache_dir: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    metrics_dir: Path | None = None  # where the workers of one server share their counters

    @property
    def has_auth(self) -> bool:
        return self.htpasswd is not None or bool(self.tokens)


def _seconds(text: str, variable: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ServeError(f"{variable}={text!r} is not a positive number of seconds")
    return value


# What settings_from_env() reads; `wheelset serve` exports each option of one of these.
SETTINGS_VARIABLES = (
    "WHEELSET_SERVE_ROOT",
    "WHEELSET_SERVE_CONFIG",
    "WHEELSET_HTPASSWD",
    "WHEELSET_SERVE_REFRESH",
    "WHEELSET_GATEWAY",
    "WHEELSET_API",
    "WHEELSET_CACHE_DIR",
    "WHEELSET_TIMEOUT",
    "WHEELSET_SERVE_METRICS_DIR",
)


def settings_from_env(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings the environment gives (SETTINGS_VARIABLES: a root or a config file,
    htpasswd, refresh, gateways, node, cache, timeout, metrics directory); the config file
    is read now.

    Raises:
        ServeError: neither or both of a root and a config file, or a bad value.
    """
    root = environ.get("WHEELSET_SERVE_ROOT", "").strip()
    config = environ.get("WHEELSET_SERVE_CONFIG", "").strip()
    if bool(root) == bool(config):
        raise ServeError("give either a ROOT or a config file (--config), not both or neither")
    gateways = tuple(environ.get("WHEELSET_GATEWAY", "").replace(",", " ").split())
    base = Settings(
        roots=(RootSpec("", root),) if root else (),
        gateways=gateways,
        api=environ.get("WHEELSET_API") or None,
        cache_dir=Path(environ["WHEELSET_CACHE_DIR"])
        if environ.get("WHEELSET_CACHE_DIR")
        else None,
        timeout=_seconds(environ["WHEELSET_TIMEOUT"], "WHEELSET_TIMEOUT")
        if environ.get("WHEELSET_TIMEOUT")
        else DEFAULT_TIMEOUT,
        metrics_dir=Path(environ["WHEELSET_SERVE_METRICS_DIR"])
        if environ.get("WHEELSET_SERVE_METRICS_DIR")
        else None,
    )
    if htpasswd := environ.get("WHEELSET_HTPASSWD", "").strip():
        base = replace(base, htpasswd=Path(htpasswd))
    if refresh := environ.get("WHEELSET_SERVE_REFRESH", "").strip():
        base = replace(base, refresh=_seconds(refresh, "WHEELSET_SERVE_REFRESH"))
    if config:
        return read_config(Path(config), base)
    return base


def read_config(path: Path, base: Settings) -> Settings:
    """``base`` with the roots, users, tokens and refresh interval of the config file.

    Raises:
        ServeError: the file is unreadable, not TOML, or holds an unknown or bad value.
    """

    def fail(message: str) -> ServeError:
        return ServeError(message, path=path)

    try:
        data = read_toml(path.read_bytes())
    except OSError as e:
        raise fail(f"cannot read: {e.strerror or e}") from e
    except NotToml as e:
        raise fail(str(e)) from e
    if unknown := set(data) - _TOP_KEYS:
        raise fail(
            f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_TOP_KEYS))})"
        )
    settings = replace(base, config=path)
    if "htpasswd" in data:
        if not isinstance(data["htpasswd"], str) or not data["htpasswd"]:
            raise fail("htpasswd must be a file name")
        settings = replace(settings, htpasswd=path.parent / data["htpasswd"])
    if "refresh" in data:
        refresh = data["refresh"]
        if isinstance(refresh, bool) or not isinstance(refresh, (int, float)) or refresh <= 0:
            raise fail("refresh must be a positive number of seconds")
        settings = replace(settings, refresh=float(refresh))
    tokens: dict[str, str] = {}
    table = data.get("tokens", {})
    if not isinstance(table, dict):
        raise fail("[tokens] must be a table NAME = sha256 of the token")
    for name, digest in table.items():
        if not isinstance(digest, str) or not _SHA256.match(digest.lower()):
            raise fail(f"tokens.{name} must be the token's sha256 (64 hex digits), not the token")
        tokens[digest.lower()] = name
    roots = data.get("roots", {})
    if not isinstance(roots, dict) or not roots:
        raise fail("no [roots.NAME] table: nothing to serve")
    specs = []
    for name, item in roots.items():
        where = f"roots.{name}"
        if not _ROOT_NAME.match(name) or name in _RESERVED:
            raise fail(f"{where}: a root name is lower-case letters, digits, '.', '_', '-' "
                       f"(not {', '.join(sorted(_RESERVED))})")  # fmt: skip
        if not isinstance(item, dict) or not isinstance(item.get("root"), str):
            raise fail(f"{where}: needs root = a root CID, build directory or name")
        if unknown := set(item) - _ROOT_KEYS:
            raise fail(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        allow = item.get("allow")
        if allow is not None and (
            not isinstance(allow, list) or not all(isinstance(a, str) for a in allow)
        ):
            raise fail(f"{where}: allow must be a list of user and token names")
        ref = item["root"]
        if not ref.startswith(("/", "ipfs://", "ipns://")) and (path.parent / ref).exists():
            ref = str(path.parent / ref)  # a build directory, relative to the file
        specs.append(RootSpec(name, ref, frozenset(allow) if allow is not None else None))
    if any(s.allow is not None for s in specs) and not (settings.htpasswd or tokens):
        raise fail("allow lists need users (htpasswd) or [tokens]")
    return replace(settings, roots=tuple(specs), tokens=tokens)
