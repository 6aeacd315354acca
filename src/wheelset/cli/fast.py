"""The hot commands without typer: a no-op `install` and `export`, before the app loads.

Loading the typer app costs more than either command's own work (typer 0.29 builds its
parameter converters with pydantic), so `main()` offers the arguments here first. Only
the plain forms are taken: ``install ROOT NAME...`` and ``export ROOT NAME...`` with the
options listed in _INSTALL and _EXPORT (as ``--opt VALUE`` or ``--opt=VALUE``), values as
the app would accept them. Anything else — another command, any other option, ``--help``,
a value the app would refuse — returns None and the typer app runs, with its usage
errors. An install is answered here only when the environment's record
(wheelset.client.noop) says it is a no-op; otherwise the app runs it (and records it).
`run_export` is the body of `wheelset export` both ways. Entry points: run_fast(),
run_export().
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["run_export", "run_fast"]

_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_INTEGER = re.compile(r"^[0-9]+$")
_URL = re.compile(r"^https?://[^/\s]+")

# option -> (destination, environment variable); every value-taking option of the
# command that can appear in its plain form.
_SHARED = {
    "--gateway": ("gateway", "WHEELSET_GATEWAY"),
    "--timeout": ("timeout", "WHEELSET_TIMEOUT"),
    "--cache-dir": ("cache_dir", "WHEELSET_CACHE_DIR"),
    "--api": ("api", "WHEELSET_API"),
}
_INSTALL = {
    **_SHARED,
    "--jobs": ("jobs", "WHEELSET_JOBS"),
    "--python": ("python", None),
    "--target": ("target", None),
    "--prefix": ("prefix", None),
}
_INSTALL_FLAGS = {"--compile"}  # changes nothing when nothing is installed
_EXPORT = {
    **_SHARED,
    "--format": ("format", None),
    "-f": ("format", None),
    "--platform": ("platform", None),
    "--output": ("output", None),
    "-o": ("output", None),
}


def _parse(
    args: Sequence[str], options: Mapping[str, tuple[str, str | None]], flags: set[str]
) -> tuple[list[str], dict[str, list[str]]] | None:
    """(positionals, option values) of a plain command line, None when it is not one."""
    positionals: list[str] = []
    values: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-") or arg == "-":
            positionals.append(arg)
        elif arg in flags:
            pass
        else:
            name, eq, value = arg.partition("=")
            if name not in options:
                return None
            if not eq:
                i += 1
                if i == len(args):
                    return None
                value = args[i]
            values.setdefault(options[name][0], []).append(value)
        i += 1
    for destination, envvar in options.values():
        if destination not in values and envvar and envvar in os.environ:
            values[destination] = [os.environ[envvar]]
    return positionals, values


def _single(values: dict[str, list[str]], name: str) -> str | None:
    got = values.get(name)
    return got[-1] if got else None


def _valid(values: dict[str, list[str]]) -> bool:
    """Whether the app would take these values (else it runs, and says what is wrong)."""
    timeout, jobs = _single(values, "timeout"), _single(values, "jobs")
    if timeout is not None and not (_NUMBER.match(timeout) and float(timeout) >= 0.1):
        return False
    if jobs is not None and not (_INTEGER.match(jobs) and int(jobs) >= 1):
        return False
    if not all(_URL.match(url) for url in _gateways(values)):
        return False
    return all(all(v) for v in values.values())


def _gateways(values: dict[str, list[str]]) -> list[str]:
    # As --gateway's callback: "a,b" and "a b" are two gateways.
    return [part for value in values.get("gateway", []) for part in value.replace(",", " ").split()]


def run_fast(argv: Sequence[str]) -> int | None:
    """Run ``argv`` here when it is a plain no-op install or export; its exit code, or None
    to leave it to the app."""
    if len(argv) < 3 or argv[0] not in ("install", "export"):
        return None
    if argv[0] == "install":
        parsed = _parse(argv[1:], _INSTALL, _INSTALL_FLAGS)
    else:
        parsed = _parse(argv[1:], _EXPORT, set())
    if parsed is None or len(parsed[0]) < 2 or not _valid(parsed[1]):
        return None
    (root, *names), values = parsed
    if argv[0] == "install":
        return _noop_install(root, names, values)
    from wheelset.cli.errors import failure_code

    try:
        timeout = _single(values, "timeout")
        cache_dir = _single(values, "cache_dir")
        output = _single(values, "output")
        run_export(
            root,
            names,
            output_format=_single(values, "format") or "requirements",
            platform=_single(values, "platform"),
            output=Path(output) if output is not None else None,
            gateway=_gateways(values),
            timeout=float(timeout) if timeout is not None else None,
            cache_dir=Path(cache_dir) if cache_dir is not None else None,
            api=_single(values, "api"),
        )
    except (Exception, KeyboardInterrupt) as e:
        code = failure_code(e)
        if code is None:
            raise
        return code
    return 0


def _noop_install(root: str, names: list[str], values: dict[str, list[str]]) -> int | None:
    from wheelset.client import noop

    python, target, prefix = (_single(values, n) for n in ("python", "target", "prefix"))
    if sum(v is not None for v in (target, prefix)) > 1:
        return None
    key = noop.request_key(root, names, python, target, prefix, os.environ)
    if key is None:
        return None
    found = noop.answer(key, python, target, prefix, os.environ)
    if found is None:
        return None
    sys.stdout.write(noop_report(found["installed"]))
    return 0


def noop_report(installed: Sequence[Sequence[str]]) -> str:
    """What install prints when everything is already installed (``installed``: name,
    version pairs in the closure's order)."""
    if not installed:
        return "Nothing to install: no requested project applies to this interpreter\n"
    return f"Already installed: {', '.join(f'{n} {v}' for n, v in installed)}\n"


def run_export(
    root: str,
    names: Sequence[str],
    *,
    output_format: str,
    platform: str | None,
    output: Path | None,
    gateway: Sequence[str],
    timeout: float | None,
    cache_dir: Path | None,
    api: str | None,
) -> None:
    """`wheelset export`: the closure of ``names`` in ROOT for ``platform``, as
    ``output_format``, to ``output`` (stdout when None). A build directory is read without
    opening any network client."""
    from wheelset.client.export import choose_platform
    from wheelset.client.resolve import parse_requirements, resolve_lazily
    from wheelset.client.root import open_root, parse_root_ref
    from wheelset.formats import get_formatter
    from wheelset.fsutil import atomic_write_text
    from wheelset.ipfs.gateway import configured_gateways

    formatter = get_formatter("export", output_format)
    requested = parse_requirements(names)
    ref = parse_root_ref(root) if os.path.isdir(root) else None
    with contextlib.ExitStack() as stack:
        if ref is not None and ref.directory is not None:
            opened = open_root(ref)
        else:
            from wheelset.cli.options import DEFAULT_TIMEOUT
            from wheelset.cli.wiring import open_root as open_any
            from wheelset.fetch.http import http_client

            http = stack.enter_context(http_client(indexes=False))
            opened, _, _ = open_any(
                root, list(gateway), timeout or DEFAULT_TIMEOUT, cache_dir, http, api
            )
        target, described = choose_platform(opened.platforms, platform)
        resolution = resolve_lazily(
            opened.declarations, requested, target, target=described, all_names=opened.names
        )
    text = formatter(
        resolution.selected,
        root=opened.cid,
        gateway=configured_gateways(gateway, os.environ)[0],
        platform=target.id,
        env=target.environment,
    )
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        atomic_write_text(output, text)
