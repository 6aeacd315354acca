"""The warm install: `install ROOT NAMES` into an empty environment from the closure an earlier
install recorded, without reading the root, resolving, or importing what those need.

A root given by CID is immutable, so the closure of NAMES in it is a function of the root,
the names and the target interpreter's platform (its tags and marker environment). Once the
full install has resolved a plain request, `remember` records the closure in the cache
(``closures/<root CID>.json``, the closures of the root's most recent requests: each
wheel's project, version, file name, CID, whether it was requested and the RECORD hash of
its WHEELSET file, in install order; and the install scheme of a venv of that interpreter,
its directory left as a placeholder, so that sysconfig is not loaded either). A closure is
found by its key, the request itself: the root CID, the NAMES as given, wheelset's version,
and witnesses of the platform: the real path and identity (inode, size, mtime) of the
interpreter binary, the kernel (``os.uname()``: the ``platform_release`` and
``platform_version`` markers) and the C library version (the manylinux tags). A changed
witness is another key, so a stale record is never found. Nothing is hashed on the way
(hashlib is not even loaded).

`prepare` answers only when nothing else could change the outcome: the environment is a
virtual environment of the binary running wheelset (its scheme is the recorded one, with
its directory put in, as sysconfig would compute it in-process), holds no distribution at
all (so nothing is replaced, and no installed requirement can break) and no pending
transaction, and every wheel of the record has a valid unpacked entry
(`wheelset.client.unpacked`: each file's identity unchanged, else rehashed against the hash
verified at unpacking). Anything else — a record missing, another interpreter, a
distribution present, an entry missing or damaged — returns None and the full install runs.
`install` then links the wheels with `wheelset.client.link`, the same layout and journaled
transaction as the full install, so the environment ends byte for byte as the full install
would leave it.
Standard library (and wheelset's light modules) only, without dataclasses.
Entry points: prepare(), install(), remember(), closure_key(), WarmInstall.
"""

from __future__ import annotations

import os
from collections import namedtuple
from collections.abc import Mapping, Sequence

from wheelset import __version__
from wheelset.client import fastjson, link, noop

TYPE_CHECKING = False  # typing and pathlib are not loaded on the warm path
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["BUCKET", "WarmInstall", "closure_key", "install", "prepare", "remember"]

BUCKET = "closures"  # in the cache directory
_VERSION = 2
_KEEP = 16  # closures remembered per root (the most recent requests)
_VENV = "\0venv"  # stands for the venv directory in a recorded scheme
_STATE_DIR = ".wheelset-transaction"  # wheelset.client.journal.STATE_DIR (a pending change)


class WarmInstall(namedtuple("WarmInstall", "root executable scheme wheels")):
    """What `install` will do: link ``wheels`` (a tuple of link.Wheel, in install order)
    into ``scheme`` (dict) for the interpreter ``executable``, from ``root`` (a CID)."""

    __slots__ = ()


def closure_key(root: str, names: Sequence[str], executable: str) -> str | None:
    """The key of the closure of ``names`` in ``root`` for the interpreter ``executable`` (the
    request as JSON text); None when the interpreter cannot be identified."""
    real = os.path.realpath(executable)
    try:
        st = os.stat(real)
    except OSError:
        return None
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):
        libc = None
    request = [
        _VERSION,
        __version__,
        root,
        list(names),
        [real, st.st_ino, st.st_size, st.st_mtime_ns],
        list(os.uname()),
        libc,
    ]
    return fastjson.dumps(request)


def remember(
    cache_dir: str | Path,
    root: str,
    names: Sequence[str],
    executable: str,
    wheels: Sequence[tuple[str, str, str, str, bool]],
) -> None:
    """Record the closure a full install resolved: ``wheels`` as (project, version, file
    name, CID, requested), in install order. Best effort: an unwritable cache only means
    that the next install resolves again."""
    from wheelset.fsutil import atomic_write_bytes

    key = closure_key(root, names, executable)
    if key is None:
        return
    rows = [
        [*w, link.sha256_record_hash(link.origin_file(root, w[3]))] for w in wheels
    ]  # fmt: skip
    from wheelset.client._interpreter_probe import scheme_for_prefix

    closures = _read(cache_dir, root)
    closures.pop(key, None)
    closures[key] = {"wheels": rows, "scheme": scheme_for_prefix(None, _VENV)}
    kept = dict(list(closures.items())[-_KEEP:])
    doc = {"version": _VERSION, "root": root, "closures": kept}
    try:
        atomic_write_bytes(_path(cache_dir, root), fastjson.dumps(doc).encode())
    except OSError:
        return


def _path(cache_dir: str | Path, root: str) -> str:
    return os.path.join(cache_dir, BUCKET, f"{root}.json")


def _read(cache_dir: str | Path, root: str) -> dict:
    """The closures recorded for ``root`` (key -> {"wheels": rows, "scheme": the venv scheme
    with the placeholder}); empty when none or unreadable."""
    try:
        with open(_path(cache_dir, root), "rb") as f:
            doc = fastjson.loads(f.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("version") != _VERSION or doc.get("root") != root:
        return {}
    closures = doc.get("closures")
    return closures if isinstance(closures, dict) else {}


def _holds_distributions(scheme: Mapping[str, str]) -> bool:
    for directory in dict.fromkeys([scheme["purelib"], scheme["platlib"]]):
        if os.path.lexists(os.path.join(directory, _STATE_DIR)):
            return True
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            continue
        except OSError:
            return True  # unreadable: the full install says why
        if any(name.endswith(".dist-info") for name in names):
            return True
    return False


def prepare(
    root: str,
    names: Sequence[str],
    python: str | None,
    cache_dir: str | Path,
    environ: Mapping[str, str],
) -> WarmInstall | None:
    """The warm install of ``names`` from ``root`` (as given on the command line) into the
    environment of ``python`` (else $VIRTUAL_ENV, else ./.venv); None when the full install
    must run."""
    cid = noop.root_key(root)
    python = noop.target_python(python, environ)
    if cid is None or python is None or not names:
        return None
    from wheelset.client.interpreter import sibling_venv

    venv = sibling_venv(python)
    key = closure_key(cid, names, python)
    if venv is None or key is None:
        return None
    closure = _read(cache_dir, cid).get(key)
    try:
        rows, template = closure["wheels"], closure["scheme"]
        # As sysconfig expands the venv scheme: the directory substituted, then normalised.
        scheme = {str(k): os.path.normpath(v.replace(_VENV, venv)) for k, v in template.items()}
        if _holds_distributions(scheme):
            return None
    except (TypeError, KeyError, AttributeError):
        return None
    from wheelset.client.unpacked import UnpackedCache

    unpacked = UnpackedCache(cache_dir)
    wheels = []
    try:
        for name, version, filename, wheel_cid, requested, origin_hash in rows:
            entry = unpacked.get(wheel_cid) if noop.is_cid(wheel_cid) else None
            if entry is None:
                return None
            wheels.append(
                link.Wheel(
                    str(name),
                    str(version),
                    str(filename),
                    str(wheel_cid),
                    entry,
                    bool(requested),
                    str(origin_hash),
                )
            )
    except (TypeError, ValueError, KeyError):
        return None
    return WarmInstall(cid, os.path.abspath(python), scheme, tuple(wheels))


def install(warm: WarmInstall, *, compile_bytecode: bool = False) -> None:
    """Link the wheels into the environment, all or nothing (as the full install would).

    Raises:
        InstallError: a file to create exists, two wheels install the same file, or the
            change failed (rolled back).
        JournalError: the environment cannot be locked or journaled.
    """
    placements, _ = link.lay_out_wheels(warm.wheels, warm.root, warm.scheme, warm.executable)
    link.apply(
        warm.scheme["purelib"],
        placements,
        [],
        compile_with=warm.executable if compile_bytecode and warm.wheels else None,
    )
