"""The hot commands without typer: plain `install`, `export`, `diff`, before the app loads.

Loading the typer app costs more than these commands' own work (typer 0.29 builds its
parameter converters with pydantic: about 0.4 s of CPU), so `main()` offers the
arguments here first. Only the plain forms are taken: ``install ROOT NAME...``,
``export ROOT NAME...`` and ``diff ROOT_A ROOT_B`` with the options listed in _INSTALL,
_EXPORT and _DIFF (as ``--opt VALUE`` or ``--opt=VALUE``, environment variables as the
app reads them), values as the app would accept them. Anything else — another command,
any other option, ``--help``, a value the app would refuse — returns None and the typer
app runs, with its usage errors.
A plain ``build DIR --out OUT`` (options: _BUILD) is run here too: an incremental build
takes less time than the app's loading.
A plain install is first answered from the environment's record when it is a no-op
(wheelset.client.noop); either way the bodies are wheelset.cli.run's, which the typer
commands call too. Entry point: run_fast().
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence

from wheelset.gcpause import cycle_collection_paused

TYPE_CHECKING = False  # typing and pathlib are not loaded on the no-op and warm paths
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["run_fast"]

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
_DIFF = {**_SHARED, "--format": ("format", None), "-f": ("format", None)}
_EXPORT = {
    **_SHARED,
    "--format": ("format", None),
    "-f": ("format", None),
    "--platform": ("platform", None),
    "--output": ("output", None),
    "-o": ("output", None),
}
_BUILD = {"--out": ("out", None), "--car": ("car", None)}  # offline: nothing fetched


_COMMANDS = {
    "install": (_INSTALL, _INSTALL_FLAGS),
    "export": (_EXPORT, set()),
    "diff": (_DIFF, set()),
    "build": (_BUILD, set()),
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
            values[arg] = ["1"]
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
    if timeout is not None and not (_is_number(timeout) and float(timeout) >= 0.1):
        return False
    if jobs is not None and not (_is_digits(jobs) and int(jobs) >= 1):
        return False
    if not all(_is_url(url) for url in _gateways(values)):
        return False
    return all(all(v) for v in values.values())


# Checked without re: re (and with it enum) is not loaded on the no-op and warm paths.
def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_number(text: str) -> bool:
    """``[0-9]+(.[0-9]+)?``"""
    whole, dot, fraction = text.partition(".")
    return _is_digits(whole) and (not dot or _is_digits(fraction))


def _is_url(text: str) -> bool:
    """An http(s) URL with a host: ``https?://[^/\\s]+…``"""
    for scheme in ("http://", "https://"):
        if text.startswith(scheme):
            rest = text[len(scheme) :]
            return bool(rest) and rest[0] != "/" and not rest[0].isspace()
    return False


def _gateways(values: dict[str, list[str]]) -> list[str]:
    # As --gateway's callback: "a,b" and "a b" are two gateways.
    return [part for value in values.get("gateway", []) for part in value.replace(",", " ").split()]


def run_fast(argv: Sequence[str]) -> int | None:
    """Run ``argv`` here when it is a plain install, export, diff or build; its exit code,
    or None to leave it to the app."""
    if len(argv) < 3 or argv[0] not in _COMMANDS:
        return None
    options, flags = _COMMANDS[argv[0]]
    parsed = _parse(argv[1:], options, flags)
    if argv[0] == "build":
        if parsed is None or len(parsed[0]) != 1 or "out" not in parsed[1]:
            return None
        return _build(parsed[0][0], parsed[1]) if _valid(parsed[1]) else None
    if parsed is None or len(parsed[0]) < 2 or not _valid(parsed[1]):
        return None
    if argv[0] == "diff" and len(parsed[0]) != 2:
        return None
    (root, *names), values = parsed
    if argv[0] != "install":
        return _run(argv[0], root, names, values)
    # An install allocates long-lived objects (modules, declarations, blocks) and hardly any
    # garbage cycles: the cyclic collector would only rescan them (about a tenth of a cold
    # install's CPU). Reference counting still frees everything else.
    with cycle_collection_paused():
        return _run(argv[0], root, names, values)


def _run(command: str, root: str, names: list[str], values: dict[str, list[str]]) -> int:
    """Run a plain command; its exit code."""
    if command == "install":
        if _noop_install(root, names, values):
            return 0
        code = _warm_install(root, names, values)
        if code is not None:
            return code
    from wheelset.cli.run import DEFAULT_JOBS, DEFAULT_TIMEOUT, run_diff, run_export, run_install

    timeout = float(_single(values, "timeout") or DEFAULT_TIMEOUT)
    cache_dir = _path(values, "cache_dir")

    def run() -> None:
        if command == "install":
            run_install(
                root,
                names,
                gateway=_gateways(values),
                target=_path(values, "target"),
                prefix=_path(values, "prefix"),
                python=_single(values, "python"),
                compile_bytecode="--compile" in values,
                jobs=int(_single(values, "jobs") or DEFAULT_JOBS),
                timeout=timeout,
                cache_dir=cache_dir,
                api=_single(values, "api"),
            )
        elif command == "diff":
            run_diff(
                root,
                names[0],
                output_format=_single(values, "format") or "text",
                gateway=_gateways(values),
                timeout=timeout,
                cache_dir=cache_dir,
                api=_single(values, "api"),
            )
        else:
            run_export(
                root,
                names,
                output_format=_single(values, "format") or "requirements",
                platform=_single(values, "platform"),
                output=_path(values, "output"),
                gateway=_gateways(values),
                timeout=timeout,
                cache_dir=cache_dir,
                api=_single(values, "api"),
            )

    return _exit_code(run)


def _build(directory: str, values: dict[str, list[str]]) -> int:
    """Run a plain build; its exit code."""
    from wheelset.build.sweep import start

    # An incremental build's stat sweep is most of its time: it starts before the rest loads.
    start(directory, _single(values, "out"))  # type: ignore[arg-type]
    from pathlib import Path

    from wheelset.cli.buildrun import run_build

    return _exit_code(
        lambda: run_build(Path(directory), out=_path(values, "out"), car=_path(values, "car"))
    )


def _exit_code(action: Callable[[], None]) -> int:
    """Run ``action``: 0, or the exit code of the error it raised (said in one line)."""
    try:
        action()
    except (Exception, KeyboardInterrupt) as e:
        return _code_of(e)
    return 0


def _code_of(error: BaseException) -> int:
    """The exit code of ``error``, said in one line; an error not ours propagates."""
    from wheelset.cli.errors import failure_code  # (it loads typing: only on an error)

    code = failure_code(error)
    if code is None:
        raise error
    return code


def _path(values: dict[str, list[str]], name: str) -> Path | None:
    from pathlib import Path

    value = _single(values, name)
    return Path(value) if value is not None else None


def _noop_install(root: str, names: list[str], values: dict[str, list[str]]) -> bool:
    """Whether the environment's record answered the install (it printed the answer)."""
    from wheelset.client import noop

    python, target, prefix = (_single(values, n) for n in ("python", "target", "prefix"))
    key = noop.request_key(root, names, python, target, prefix, os.environ)
    found = key and noop.answer(key, python, os.environ)
    if not found:
        return False
    from wheelset.cli.run import noop_report

    sys.stdout.write(noop_report(found["installed"]))
    sys.stdout.flush()
    return True


def _warm_install(root: str, names: list[str], values: dict[str, list[str]]) -> int | None:
    """Install from the closure an earlier install recorded, into an empty environment
    (wheelset.client.warm); its exit code, or None when the full install must run."""
    if _single(values, "target") is not None or _single(values, "prefix") is not None:
        return None
    from wheelset.client import warm

    cache_dir = _single(values, "cache_dir")
    if cache_dir is None:
        from wheelset.fetch.cachedir import default_cache_path

        cache_dir = default_cache_path()
    python = _single(values, "python")
    found = warm.prepare(root, names, python, cache_dir, os.environ)
    if found is None:
        return None
    from wheelset.cli.run import installed_report, sigterm_rolls_back
    from wheelset.client import noop
    from wheelset.errors import InstallError

    try:
        with sigterm_rolls_back():
            warm.install(found, compile_bytecode="--compile" in values)
    except (Exception, KeyboardInterrupt) as e:
        if isinstance(e, InstallError) and e.code == "CONFLICT":
            # (before any change) e.g. another install got there first: the full install
            # tells "already installed" from a real conflict.
            return None
        return _code_of(e)
    installed = [(w.name, w.version, None) for w in found.wheels]
    sys.stdout.write(installed_report(found.scheme["purelib"], found.root, installed, 0))
    sys.stdout.flush()
    key = noop.request_key(root, names, python, None, None, os.environ)
    if key is not None:
        dist_infos = [
            os.path.join(
                found.scheme["purelib" if w.unpacked.root_is_purelib else "platlib"],
                w.unpacked.dist_info,
            )
            for w in found.wheels
        ]
        noop.remember(
            key,
            found.root,
            found.executable,
            found.scheme,
            [(w.name, w.version, d) for w, d in zip(found.wheels, dist_infos, strict=True)],
            python,
            os.environ,
        )
    return 0
