"""The no-op record: `install ROOT NAMES` answered from what the environment recorded.

A root given by CID is immutable, so the outcome of `wheelset install ROOT NAMES` depends only
on the request (ROOT, NAMES, --python, $VIRTUAL_ENV, the working directory), on the
interpreter and on what the environment holds. After every successful install (and every
install that found nothing to do) the CLI records in the virtual environment
(``RECORD_FILE`` beside its pyvenv.cfg, outside site-packages), under a key of the request:
the root CID, the answer (each closure distribution with its version, in the order install
reports them) and witnesses — the identity (inode, size, mtime) of the interpreter
binaries, of pyvenv.cfg (and of ``.venv/pyvenv.cfg`` when the environment was looked for
there), of each closure distribution's RECORD, and the list of every ``.dist-info``
directory of purelib and platlib. The next identical request whose witnesses all hold, with
no transaction pending, is answered from the record without loading the CLI, reading the
root or resolving; anything else (another request, an option the fast path does not take,
a witness changed: a distribution installed, removed or reinstalled by any tool, the venv
recreated) runs the full install, which records again. A build directory counts as the
root CID its ROOT file names (read first: a rebuild that changes the root misses the
record); a CAR file or a mutable name (IPNS, DNSLink) is never answered from a record, nor
an install into a --target or --prefix directory (which keeps only what pip would put
there) or into an interpreter outside a venv.

This module imports nothing beyond the standard library: it is the whole no-op path.
Entry points: request_key(), root_key(), is_cid(), answer(), remember(), RECORD_FILE."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from wheelset.build.layout import INCOMPLETE_MARKER, ROOT_FILE, TREE_DIR
from wheelset.client import fastjson

__all__ = [
    "RECORD_FILE",
    "answer",
    "environment_dir",
    "is_cid",
    "remember",
    "request_key",
    "root_key",
    "target_python",
]

RECORD_FILE = ".wheelset-installs.json"
_VERSION = 1
_KEEP = 16  # requests remembered per environment (the most recent)
_STATE_DIR = ".wheelset-transaction"  # wheelset.client.journal.STATE_DIR (a pending change)
# A CIDv0 (base58btc sha2-256) or a CIDv1 in base32: the only texts taken as immutable
# (checked by their alphabets: re, and with it enum, is not loaded on the warm path).
_BASE58 = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_BASE32 = frozenset("abcdefghijklmnopqrstuvwxyz234567")


def is_cid(text: object) -> bool:
    """Whether ``text`` is a CID in one of the forms roots use (CIDv0, base32 CIDv1)."""
    if not isinstance(text, str):
        return False
    if text.startswith("Qm"):
        return len(text) == 46 and _BASE58.issuperset(text)
    return text.startswith("b") and len(text) >= 59 and _BASE32.issuperset(text)


def root_key(text: str) -> str | None:
    """The root CID ROOT stands for when it is immutable: a CID (``/ipfs/<cid>``,
    ``ipfs://<cid>``), or a complete build directory's ROOT; else None."""
    if os.path.isdir(text):
        out = os.path.dirname(os.path.abspath(text)) if os.path.basename(
            os.path.normpath(text)) == TREE_DIR else text  # fmt: skip
        if os.path.exists(os.path.join(out, INCOMPLETE_MARKER)):
            return None
        try:
            with open(os.path.join(out, ROOT_FILE), encoding="ascii") as f:
                body = f.read().strip()
        except (OSError, UnicodeDecodeError):
            return None
    elif os.path.exists(text):
        return None
    else:
        body = text.strip().removeprefix("ipfs://").removeprefix("/ipfs/").rstrip("/")
    return body if is_cid(body) else None


def request_key(
    root: str,
    names: Sequence[str],
    python: str | None,
    target: str | None,
    prefix: str | None,
    environ: Mapping[str, str],
) -> str | None:
    """The key of an install request, None when it cannot be answered from a record (a
    mutable root, a --target or --prefix directory)."""
    if target is not None or prefix is not None or not names:
        return None
    cid = root_key(root)
    if cid is None:
        return None
    request = [
        os.getcwd(),
        cid,
        list(names),
        python,
        environ.get("VIRTUAL_ENV") if python is None else None,
        sys.executable,
    ]
    # The request itself, not a digest of it: hashlib would cost the no-op path a few ms.
    return fastjson.dumps(request)


def environment_dir(python: str | None, environ: Mapping[str, str]) -> str | None:
    """Where an environment keeps its record: the venv of --python, $VIRTUAL_ENV or ./.venv
    (beside pyvenv.cfg, outside site-packages); None for an interpreter outside a venv."""
    python = target_python(python, environ)
    if python is None:
        return None
    here = os.path.dirname(os.path.abspath(python))
    for directory in (here, os.path.dirname(here)):
        if os.path.isfile(os.path.join(directory, "pyvenv.cfg")):
            return directory
    return None


def target_python(python: str | None, environ: Mapping[str, str]) -> str | None:
    """The interpreter an install acts on, as far as it can be told without running one:
    ``python`` (--python) when given, else the python of $VIRTUAL_ENV or ./.venv if it exists."""
    if python is not None:
        return python
    venv = environ.get("VIRTUAL_ENV") or os.path.join(os.getcwd(), ".venv")
    python = os.path.join(venv, "bin", "python")
    return python if os.path.exists(python) else None


def _identity(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _dist_infos(scheme: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    for directory in dict.fromkeys([scheme["purelib"], scheme["platlib"]]):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        found += sorted(os.path.join(directory, n) for n in names if n.endswith(".dist-info"))
    return found


def _witnesses(executable: str, python: str | None, environ: Mapping[str, str]) -> list[str]:
    paths = [os.path.realpath(executable), os.path.realpath(sys.executable)]
    if python is None and not environ.get("VIRTUAL_ENV"):
        paths.append(os.path.join(os.getcwd(), ".venv", "pyvenv.cfg"))
    here = os.path.dirname(os.path.abspath(executable))
    paths += [os.path.join(d, "pyvenv.cfg") for d in (here, os.path.dirname(here))]
    return paths


def _read(directory: str) -> dict:
    try:
        with open(os.path.join(directory, RECORD_FILE), "rb") as f:
            doc = fastjson.loads(f.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("version") != _VERSION:
        return {}
    entries = doc.get("requests")
    return entries if isinstance(entries, dict) else {}


def answer(key: str, python: str | None, environ: Mapping[str, str]) -> dict | None:
    """The recorded outcome of request ``key`` — ``{"root": CID, "purelib": DIR,
    "installed": [[name, version], …]}`` — when every witness still holds; else None."""
    directory = environment_dir(python, environ)
    if directory is None:
        return None
    record = _read(directory).get(key)
    try:
        scheme = record["scheme"]
        if os.path.exists(os.path.join(scheme["purelib"], _STATE_DIR)):
            return None
        if _dist_infos(scheme) != record["dist_infos"]:
            return None
        for path, identity in record["witnesses"]:
            if _identity(path) != identity:
                return None
        return {"root": record["root"], "purelib": scheme["purelib"],
                "installed": record["installed"]}  # fmt: skip
    except (TypeError, KeyError, ValueError):
        return None


def remember(
    key: str,
    root: str,
    executable: str,
    scheme: Mapping[str, str],
    installed: Sequence[tuple[str, str, str]],
    python: str | None,
    environ: Mapping[str, str],
) -> None:
    """Record the outcome of request ``key`` after it succeeded: ``installed`` lists each
    closure distribution as (name, version, its dist-info directory). Best effort: an
    environment that cannot be written is simply not answered from a record."""
    from wheelset.fsutil import atomic_write_bytes

    directory = environment_dir(python, environ)
    if directory is None:
        return
    paths = _witnesses(executable, python, environ)
    paths += [os.path.join(dist_info, "RECORD") for _, _, dist_info in installed]
    entries = _read(directory)
    entries.pop(key, None)
    entries[key] = {
        "root": root,
        "scheme": {"purelib": scheme["purelib"], "platlib": scheme["platlib"]},
        "installed": [[name, version] for name, version, _ in installed],
        "dist_infos": _dist_infos(scheme),
        "witnesses": [[p, _identity(p)] for p in paths],
    }
    kept = dict(list(entries.items())[-_KEEP:])
    # Compact: an indented document is encoded in Python, not by the C encoder.
    doc = fastjson.dumps({"version": _VERSION, "requests": kept}, compact=True).encode()
    try:
        atomic_write_bytes(os.path.join(directory, RECORD_FILE), doc)
    except OSError:
        return
