"""Put unpacked wheels into an environment: lay out every file, then link them in one journaled
transaction.

`layout` computes, without touching anything, every file a verified unpacked wheel
(`wheelset.client.unpacked`) installs into a scheme — its members hard-linked from the cache,
its scripts rewritten for the interpreter, its entry-point scripts, the dist-info files the
installer adds and RECORD (written anew from the entry's recorded hashes and sizes, so no
installed byte is read again). `apply` moves aside what is replaced and creates those files
under a `wheelset.client.journal.Transaction`: on any failure, signal or kill -9 the
environment is brought back. Both the full install (`wheelset.client.install`) and the warm
path (`wheelset.client.warm`) use them, so an environment is changed one way only.
Light at module level (the warm path must not pay for packaging, installer, dataclasses,
subprocess): installer's script writer is imported only for a wheel with entry points.
Entry points: Wheel, Placement, lay_out_wheels(), layout(), apply(), ORIGIN_FILE.
"""

from __future__ import annotations

import _csv  # csv's C module: csv itself imports re (and enum), a warm install's cost
import errno
import io
import os
from collections import namedtuple
from collections.abc import Mapping, Sequence

from wheelset.client import fastjson, journal
from wheelset.client.unpacked import UnpackedWheel, record_hash
from wheelset.errors import InstallError

TYPE_CHECKING = False  # typing (and so wheelset.progress) is not loaded on the warm path
if TYPE_CHECKING:
    from wheelset.progress import Progress

__all__ = ["ORIGIN_FILE", "Placement", "Wheel", "apply", "lay_out_wheels", "layout"]

# The dist-info files the installer adds: INSTALLER (PEP 376), REQUESTED (PEP 376, for a
# requested project) and WHEELSET (JSON: the root and wheel CIDs it came from; pip and uv
# ignore unknown files there, and remove it with the rest because it is in RECORD).
INSTALLER = b"wheelset\n"
ORIGIN_FILE = "WHEELSET"
# The RECORD hashes of INSTALLER and of the empty REQUESTED: with these and the WHEELSET
# hashes a closure record carries, the warm install never loads hashlib.
_KNOWN_HASHES = {
    INSTALLER: "sha256=2P7CaEb_MIGpgwOszjiVxZkSprNcZEmyBCGlslvPOrY",
    b"": "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
}


class Wheel(
    namedtuple(
        "Wheel", "name version filename cid unpacked requested origin_hash", defaults=(None,)
    )
):
    """A wheel to install: its project (canonical name), version, file name and CID (str),
    its verified ``unpacked`` entry (UnpackedWheel), whether it was ``requested`` by the
    user (PEP 376 REQUESTED), not only a dependency, and the RECORD hash of its WHEELSET file
    (`origin_file`) when already known (else None: computed)."""

    __slots__ = ()


def origin_file(root: str, cid: str) -> bytes:
    """The WHEELSET file of the wheel ``cid`` installed from ``root``."""
    return fastjson.dumps({"root": root, "wheel": cid}).encode()


def sha256_record_hash(content: bytes) -> str:
    """The RECORD hash (sha256) of ``content``."""
    known = _KNOWN_HASHES.get(content)
    if known is not None:
        return known
    import hashlib

    return record_hash("sha256", hashlib.sha256(content).digest())


class Placement(namedtuple("Placement", "target source data executable")):
    """One file a wheel puts into the environment: ``target`` (str) linked from ``source``
    (str) or written with ``data`` (bytes); ``executable`` (bool)."""

    __slots__ = ()


def lay_out_wheels(
    wheels: Sequence[Wheel], root: str, scheme: Mapping[str, str], executable: str
) -> tuple[list[Placement], dict[int, str]]:
    """The placements of every wheel, installed from ``root`` for ``executable``, and where
    each wheel's placements start ("name version" by index, for progress).

    Raises:
        InstallError: two wheels install the same file, or as layout().
    """
    placements: list[Placement] = []
    starts: dict[int, str] = {}
    owners: dict[str, Wheel] = {}
    for wheel in wheels:
        origin = origin_file(root, wheel.cid)
        metadata = {"INSTALLER": INSTALLER, ORIGIN_FILE: origin}
        if wheel.requested:
            metadata["REQUESTED"] = b""
        known = {origin: wheel.origin_hash} if wheel.origin_hash else {}
        starts[len(placements)] = f"{wheel.name} {wheel.version}"
        laid_out = layout(
            wheel.name, wheel.filename, wheel.unpacked, scheme, executable, metadata, known
        )
        for placement in laid_out:
            other = owners.setdefault(placement.target, wheel)
            if other is not wheel:
                raise InstallError(
                    f"{other.filename} and {wheel.filename} both install {placement.target}; "
                    "nothing was installed",
                    code="CONFLICT",
                )
        placements += laid_out
    return placements, starts


def layout(
    name: str,
    filename: str,
    wheel: UnpackedWheel,
    scheme: Mapping[str, str],
    executable: str,
    metadata: Mapping[str, bytes],
    known_hashes: Mapping[bytes, str] | None = None,
) -> list[Placement]:
    """Every file the wheel ``filename`` of project ``name`` installs, RECORD last (nothing is
    touched yet). ``metadata``: the dist-info files the installer adds (name -> content).

    Raises:
        InstallError: a member would land outside its scheme directory, or a script is bad.
    """
    root_dir = scheme["purelib" if wheel.root_is_purelib else "platlib"]
    dirs = dict(scheme)
    dirs["headers"] = os.path.join(scheme["headers"], name)
    bases = {key: os.path.join(os.path.abspath(base), "") for key, base in dirs.items()}
    root_check = os.path.join(os.path.abspath(root_dir), "")
    tree = str(wheel.tree)
    placements: list[Placement] = []
    rows: list[tuple[str, str, str]] = []
    relative_to = os.path.join(root_dir, "")

    def add(target: str, source: str | None, data: bytes | None, exe: bool, h: str, n: int):
        placements.append(Placement(target, source, data, exe))
        if target.startswith(relative_to):
            relative = target[len(relative_to) :]
        else:
            relative = os.path.relpath(target, root_dir)
        rows.append((relative.replace(os.sep, "/"), h, str(n)))

    prefix = wheel.data_dir + "/"
    points = f"{wheel.dist_info}/entry_points.txt"
    has_points = False
    for file in wheel.files:
        if file.path.startswith(prefix):
            key, _, rest = file.path[len(prefix) :].partition("/")
            base, check = dirs[key], bases[key]
        else:
            key, rest, base, check = "", file.path, root_dir, root_check
        target = os.path.join(base, rest)
        if not os.path.abspath(target).startswith(check):
            raise InstallError(f"{file.path} would be outside {base}", path=filename)
        source = os.path.join(tree, file.path)
        if key == "scripts":
            with open(source, "rb") as f:
                content = f.read()
            if content.startswith(b"#!python"):
                end = content.find(b"\n")
                content = f"#!{executable}".encode() + (content[end:] if end >= 0 else b"\n")
                import hashlib

                algorithm = file.hash.partition("=")[0]
                digest = record_hash(algorithm, hashlib.new(algorithm, content).digest())
                add(target, None, content, True, digest, len(content))
                continue
            add(target, None, content, True, file.hash, file.size)
            continue
        has_points = has_points or file.path == points
        add(target, source, None, file.executable, file.hash, file.size)
    if has_points:
        for target, content in _entry_point_scripts(filename, wheel, scheme, executable):
            add(target, None, content, True, sha256_record_hash(content), len(content))
    info = os.path.join(root_dir, wheel.dist_info)
    for meta_name, content in metadata.items():
        digest = (known_hashes or {}).get(content) or sha256_record_hash(content)
        add(os.path.join(info, meta_name), None, content, False, digest, len(content))
    record_target = os.path.join(info, "RECORD")
    rows.append((os.path.relpath(record_target, root_dir).replace(os.sep, "/"), "", ""))
    out = io.StringIO()
    _csv.writer(out, lineterminator="\n").writerows(sorted(rows))
    placements.append(Placement(record_target, None, out.getvalue().encode(), False))
    return placements


def _entry_point_scripts(
    filename: str, wheel: UnpackedWheel, scheme: Mapping[str, str], executable: str
) -> list[tuple[str, bytes]]:
    """(target, content) of each console and GUI script the wheel's entry_points.txt names."""
    from installer.scripts import Script
    from installer.utils import get_launcher_kind, parse_entrypoints

    scripts = []
    path = os.path.join(str(wheel.tree), wheel.dist_info, "entry_points.txt")
    try:
        with open(path, encoding="utf-8") as f:
            entries = list(parse_entrypoints(f.read()))
        kind = get_launcher_kind()
        for name, module, attr, section in entries:
            script_name, content = Script(name, module, attr, section).generate(executable, kind)
            target = os.path.join(scheme["scripts"], script_name)
            if os.path.dirname(os.path.abspath(target)) != os.path.abspath(scheme["scripts"]):
                raise InstallError(f"bad script name {name!r}", path=filename)
            scripts.append((target, content))
    except (ValueError, AssertionError, UnicodeDecodeError) as e:
        raise InstallError(f"unusable entry_points.txt ({e})", path=filename) from e
    return scripts


def _new_dirs(targets: Sequence[str]) -> list[str]:
    """Directories that must be made for ``targets``, parents first."""
    known: dict[str, bool] = {}
    missing: list[str] = []

    def visit(directory: str) -> None:
        if directory in known:
            return
        exists = os.path.isdir(directory)
        known[directory] = exists
        if not exists:
            parent = os.path.dirname(directory)
            if parent != directory:
                visit(parent)
            missing.append(directory)

    for target in targets:
        visit(os.path.dirname(target))
    return missing


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC  # as open(path, "xb")


class _Linker:
    """Hard links from the unpacked cache; copies once linking is refused (other device)."""

    def __init__(self) -> None:
        self.copy = False

    def place(self, placement: Placement) -> None:
        if placement.data is not None:
            # os.open, not open(): no isatty, fstat and lseek for a file written at once. The
            # kernel applies the umask to the mode (0o755 or 0o666 as open() gives).
            fd = os.open(placement.target, _CREATE, 0o755 if placement.executable else 0o666)
            try:
                view = memoryview(placement.data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            return
        assert placement.source is not None
        if not self.copy:
            try:
                os.link(placement.source, placement.target)
                return
            except OSError as e:
                if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                self.copy = True
        import shutil

        with open(placement.source, "rb") as src, open(placement.target, "xb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(placement.target, (0o755 if placement.executable else 0o644) & ~_current_umask())


def _current_umask() -> int:
    from wheelset.fsutil import current_umask

    return current_umask()


def apply(
    purelib: str,
    placements: Sequence[Placement],
    removes: Sequence[str],
    *,
    compile_with: str | None = None,
    on_file: Mapping[int, str] | None = None,
    progress: Progress | None = None,
) -> None:
    """Remove the files ``removes`` and create ``placements`` in one journaled transaction,
    with the environment (its ``purelib``) locked. ``on_file`` names the distribution whose
    files start at each index (for progress). With ``compile_with`` (an interpreter), the new
    modules are byte-compiled inside the transaction.

    Raises:
        InstallError: a file to create exists and is not being removed, or the change failed
            (it was rolled back).
        JournalError: the environment cannot be locked or journaled.
    """
    targets = [p.target for p in placements]
    try:
        os.makedirs(purelib, exist_ok=True)
    except OSError as e:
        raise InstallError(f"cannot create: {e.strerror}", path=purelib, code="ENVIRONMENT") from e
    state_parent = purelib
    with journal.environment_lock(state_parent):
        journal.recover(state_parent)
        leaving = set(removes)
        dirs = _new_dirs(targets)
        fresh = set(dirs)
        for target in targets:
            if os.path.dirname(target) in fresh:
                continue  # in a directory this change makes: nothing can be there yet
            if target not in leaving and os.path.lexists(target):
                # Refused before the transaction: a rollback would delete it as one of ours.
                raise InstallError(
                    "already exists and belongs to no distribution being replaced; "
                    "nothing was installed",
                    path=target,
                    code="CONFLICT",
                )
        linker = _Linker()
        try:
            with journal.Transaction(state_parent, targets, dirs, removes) as transaction:
                transaction.remove_all()
                transaction.make_dirs()
                made: set[str] = set(dirs)
                for number, placement in enumerate(placements):
                    if on_file is not None and progress is not None and number in on_file:
                        progress.item(on_file[number], "installing")
                    parent = os.path.dirname(placement.target)
                    if parent not in made:
                        os.makedirs(parent, exist_ok=True)  # an emptied directory of an old one
                        made.add(parent)
                    linker.place(placement)
                    transaction.step()
                if compile_with is not None:
                    _compile(compile_with, [t for t in targets if t.endswith(".py")])
                transaction.commit()
        except OSError as e:
            raise InstallError(
                f"cannot change the environment ({e}); it was left as it was",
                code="ENVIRONMENT",
            ) from e


def _compile(executable: str, sources: Sequence[str]) -> None:
    """Byte-compile the installed modules with the target interpreter (its own cache tag):
    here when it is a venv of the binary running wheelset (the same magic number, flags and
    environment, so the same bytes as ``python -m compileall`` would write, without
    starting it), else by running it."""
    if not sources:
        return
    from wheelset.client.interpreter import sibling_venv

    if sibling_venv(executable) is not None:
        import py_compile

        for source in sources:
            try:
                py_compile.compile(source, doraise=True)
            except py_compile.PyCompileError as e:
                last = (str(e).strip().splitlines() or ["compile failed"])[-1]
                raise InstallError(f"byte-compiling failed: {last}; nothing was installed") from e
        return
    import subprocess

    done = subprocess.run(
        [executable, "-m", "compileall", "-q", "-i", "-"],
        input="\n".join(sources),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stdout.strip().splitlines() or ["compileall failed"])[-1]
        raise InstallError(f"byte-compiling failed: {last}; nothing was installed")
