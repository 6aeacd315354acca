"""Install projects of a root into an environment: resolve, fetch and verify, then change the
environment all or nothing.

Stages, each a function the CLI calls in turn: `plan_install` resolves the requested names
against the root (reading only the projects of the closure) for the target interpreter,
compares with what is installed and lists installed distributions whose requirements the
new versions would break; `fetch_wheels` obtains every wheel in parallel and unpacks it into
the cache of verified, unpacked wheels (`wheelset.client.unpacked`: CID, size and sha256
verified, then every member checked against RECORD) — a valid unpacked entry is used without
fetching or rehashing; if any wheel fails, nothing is installed; `install_wheels` computes
every file it will create and remove, refuses conflicts, then applies the change in one
`wheelset.client.journal` Transaction: old versions are moved aside, files are hard-linked
from the unpacked cache (copied across file systems), scripts and
RECORD/INSTALLER/REQUESTED/WHEELSET written; on any failure, signal or kill -9 the
environment is brought back. `uninstall` and `--exact` removals are the same transaction
without new files. Bytecode is compiled only on request, inside the transaction. Never
prints: progress goes to a wheelset.progress.Progress.
Entry points: plan_install(), fetch_wheels(), install_wheels(), uninstall(), repair(),
target_scheme(), InstallPlan, InstallReport, InstallError.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.client import journal
from wheelset.client.environment import (
    ORIGIN_FILE,
    InstalledDist,
    broken_dependents,
    installed_distributions,
)
from wheelset.client.interpreter import Interpreter
from wheelset.client.resolve import resolve_lazily
from wheelset.errors import InstallError, WheelsetError
from wheelset.fetch.cache import Cache, CacheError
from wheelset.ipfs.cid import CID
from wheelset.ipfs.gateway import FetchCancelled, FetchError, GatewayFetcher
from wheelset.model.declarations import Declaration
from wheelset.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from wheelset.client.unpacked import UnpackedWheel

__all__ = [
    "DEFAULT_WORKERS",
    "InstallError",
    "InstallPlan",
    "InstallReport",
    "PlanItem",
    "fetch_wheels",
    "install_wheels",
    "plan_install",
    "repair",
    "target_scheme",
    "uninstall",
]

DEFAULT_WORKERS = 8  # parallel wheel downloads; gateways serve many streams at once
INSTALLER_NAME = b"wheelset"


@dataclass(frozen=True, slots=True)
class PlanItem:
    declaration: Declaration
    installed_version: str | None  # the version already in the environment, if any

    @property
    def is_installed(self) -> bool:
        if self.installed_version is None:
            return False
        try:
            return Version(self.installed_version) == self.declaration.version
        except InvalidVersion:
            return False


@dataclass(frozen=True, slots=True)
class InstallPlan:
    """What `install_wheels` will do; wheels listed dependencies first."""

    root: CID
    interpreter: Interpreter
    scheme: Mapping[str, str]
    items: tuple[PlanItem, ...]
    requested: tuple[NormalizedName, ...]
    to_remove: tuple[InstalledDist, ...] = ()  # --exact: installed, not in the closure
    broken: tuple[str, ...] = ()  # installed requirements the change would break

    @property
    def to_install(self) -> tuple[PlanItem, ...]:
        return tuple(item for item in self.items if not item.is_installed)

    @property
    def already_installed(self) -> tuple[PlanItem, ...]:
        return tuple(item for item in self.items if item.is_installed)


@dataclass(frozen=True, slots=True)
class InstallReport:
    installed: tuple[Declaration, ...]
    replaced: tuple[tuple[Declaration, str], ...]  # (new, old version)
    skipped: tuple[Declaration, ...]
    compiled: bool = False
    removed: tuple[tuple[str, str], ...] = ()  # (name, version) removed by --exact


def target_scheme(directory: Path) -> dict[str, str]:
    """The scheme of ``--target DIR``, as pip: packages in DIR, scripts in DIR/bin."""
    base = str(directory)
    return {
        "purelib": base,
        "platlib": base,
        "scripts": os.path.join(base, "bin"),
        "data": base,
        "headers": os.path.join(base, "include"),
    }


def repair(scheme: Mapping[str, str]) -> journal.Recovery | None:
    """Finish or roll back a transaction interrupted in this environment (kill -9, power
    loss); None when there was none.

    Raises:
        JournalError: the journal is unreadable or the files cannot be restored.
    """
    state_parent = Path(scheme["purelib"])
    if not journal.pending(state_parent):
        return None
    with journal.environment_lock(state_parent):
        return journal.recover(state_parent)


def plan_install(
    lookup: Callable[[Sequence[str]], Iterable[Declaration]],
    root: CID,
    requested: Sequence[Requirement],
    interpreter: Interpreter,
    scheme: Mapping[str, str],
    *,
    all_names: Callable[[], Iterable[str]] | None = None,
    exact: bool = False,
) -> InstallPlan:
    """Resolve ``requested`` for ``interpreter`` and compare with what ``scheme`` holds;
    ``lookup(names)`` gives the declarations of projects (asked only for the closure),
    ``all_names()`` every project name (for a "did you mean" hint).

    With ``exact``, every installed distribution outside the closure is to be removed.
    Raises:
        ResolutionError: (from resolve) an unknown project, no wheel for this interpreter,
            a version conflict or an unsatisfied dependency.
    """
    platform = interpreter.platform
    resolution = resolve_lazily(
        lookup,
        requested,
        platform,
        target=f"this interpreter ({interpreter.executable}, Python "
        f"{platform.python_full_version}, {platform.tags[0]})",
        all_names=all_names,
    )
    present = installed_distributions(scheme)
    items = tuple(
        PlanItem(d, present[d.name].version if d.name in present else None)
        for d in resolution.selected
    )
    selected = {d.name for d in resolution.selected}
    to_remove = tuple(d for n, d in sorted(present.items()) if exact and n not in selected)
    changes: dict[NormalizedName, str | None] = {
        item.declaration.name: str(item.declaration.version)
        for item in items
        if not item.is_installed
    }
    changes.update({d.name: None for d in to_remove})
    broken: list[str] = []
    if changes:
        staying = [d for n, d in present.items() if n not in changes]
        broken = broken_dependents(staying, changes, platform.environment)
    return InstallPlan(
        root,
        interpreter,
        dict(scheme),
        items,
        resolution.requested,
        to_remove,
        tuple(broken),
    )


def fetch_wheels(
    declarations: Sequence[Declaration],
    cache: Cache,
    fetcher: GatewayFetcher,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = NO_PROGRESS,
) -> dict[CID, UnpackedWheel]:
    """Obtain every wheel verified and unpacked (RECORD checked), in parallel.

    A wheel already in the unpacked cache with its files unchanged is neither fetched nor
    rehashed.
    Raises:
        InstallError: a wheel could not be fetched or verified from any gateway (code VERIFY
            when a gateway served wrong bytes, FETCH otherwise), or is not a valid wheel. The
            message names the wheel; the other fetches are cancelled.
        CacheError: the cache cannot be written.
    """
    if not declarations:
        return {}
    from wheelset.client.unpacked import UnpackedCache  # not needed when nothing is to do

    unpacked = UnpackedCache(cache.directory)
    ready: dict[CID, UnpackedWheel] = {}
    missing: list[Declaration] = []
    for decl in declarations:
        entry = unpacked.get(decl.content_id)
        if entry is None:
            missing.append(decl)
        else:
            ready[decl.content_id] = entry
    progress.start(sum(d.size or 0 for d in declarations) or None, unit="bytes")
    for decl in declarations:
        if decl.content_id in ready:
            progress.advance(decl.size or 0)
            progress.item(decl.filename, "cache")
    if not missing:
        return ready
    cancel = threading.Event()

    def obtain(decl: Declaration) -> UnpackedWheel:
        got = cache.obtain(
            decl.content_id,
            fetcher,
            decl.filename,
            size=decl.size,
            sha256=decl.sha256,
            label=decl.filename,
            on_progress=progress.advance,
            cancel=cancel,
        )
        for failure in got.failures:
            progress.warn(f"{decl.filename}: {failure}")
        if got.source == "cache":
            progress.advance(got.size)
        try:
            wheel = unpacked.unpack(decl.content_id, got.path, decl.filename)
        except OSError as e:
            raise CacheError(f"cache {cache.directory}: {e}") from e
        progress.item(decl.filename, got.source)
        return wheel

    # Largest first: the long downloads start early, the small ones fill in around them.
    ordered = sorted(missing, key=lambda d: -(d.size or 0))
    errors: dict[str, WheelsetError] = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ordered)))) as pool:
            futures = {pool.submit(obtain, decl): decl for decl in ordered}
            try:
                for future in as_completed(futures):
                    decl = futures[future]
                    try:
                        ready[decl.content_id] = future.result()
                    except FetchCancelled:
                        continue
                    except WheelsetError as e:
                        errors[decl.filename] = e
                        cancel.set()
            except BaseException:  # Ctrl-C: stop the downloads before waiting for them
                cancel.set()
                raise
    finally:
        if errors or cancel.is_set():
            _drop_empty_entries(cache, ordered)
    if errors:
        raise _fetch_failure(errors)
    return ready


def _drop_empty_entries(cache: Cache, declarations: Sequence[Declaration]) -> None:
    """An interrupted or failed fetch leaves no empty cache directory behind."""
    for decl in declarations:
        try:
            cache.file_path(decl.content_id, decl.filename).parent.rmdir()
        except OSError:
            continue  # not empty (a verified file is kept) or never made


def _fetch_failure(errors: Mapping[str, WheelsetError]) -> WheelsetError:
    filename = sorted(errors)[0]
    error = errors[filename]
    if isinstance(error, InstallError | CacheError):
        return error
    more = f" (and {len(errors) - 1} more wheels failed)" if len(errors) > 1 else ""
    tampered = isinstance(error, FetchError) and any(f.kind == "mismatch" for f in error.failures)
    code = "VERIFY" if tampered else "FETCH" if isinstance(error, FetchError) else error.code
    return InstallError(f"{error}{more}; nothing was installed", code=code)


@dataclass(frozen=True, slots=True)
class _Placement:
    """One file a wheel puts into the environment: linked from ``source`` or written."""

    target: str
    source: str | None
    data: bytes | None
    executable: bool


def _b(text: str) -> bytes:
    return text.encode("utf-8")


def _layout(
    decl: Declaration,
    wheel: UnpackedWheel,
    scheme: Mapping[str, str],
    executable: str,
    metadata: Mapping[str, bytes],
) -> list[_Placement]:
    """Every file this wheel installs, RECORD last (nothing is touched yet).

    Raises:
        InstallError: a member would land outside its scheme directory, or a script is bad.
    """
    from installer.scripts import Script
    from installer.utils import get_launcher_kind, parse_entrypoints

    from wheelset.client.unpacked import record_hash

    root_dir = scheme["purelib" if wheel.root_is_purelib else "platlib"]
    dirs = dict(scheme)
    dirs["headers"] = os.path.join(scheme["headers"], decl.name)
    placements: list[_Placement] = []
    rows: list[tuple[str, str, str]] = []

    def add(target: str, source: str | None, data: bytes | None, exe: bool, h: str, n: int):
        placements.append(_Placement(target, source, data, exe))
        rows.append((os.path.relpath(target, root_dir).replace(os.sep, "/"), h, str(n)))

    prefix = wheel.data_dir + "/"
    for file in wheel.files:
        if file.path.startswith(prefix):
            key, _, rest = file.path[len(prefix) :].partition("/")
            base = dirs[key]
        else:
            key, rest, base = "", file.path, root_dir
        target = os.path.join(base, rest)
        if not os.path.abspath(target).startswith(os.path.join(os.path.abspath(base), "")):
            raise InstallError(f"{decl.filename}: {file.path} would be outside {base}")
        source = str(wheel.tree / file.path)
        if key == "scripts":
            content = Path(source).read_bytes()
            if content.startswith(b"#!python"):
                end = content.find(b"\n")
                content = _b(f"#!{executable}") + (content[end:] if end >= 0 else b"\n")
                algorithm = file.hash.partition("=")[0]
                digest = record_hash(algorithm, hashlib.new(algorithm, content).digest())
                add(target, None, content, True, digest, len(content))
                continue
            add(target, None, content, True, file.hash, file.size)
            continue
        add(target, source, None, file.executable, file.hash, file.size)
    points = wheel.tree / wheel.dist_info / "entry_points.txt"
    if points.is_file():
        try:
            entries = list(parse_entrypoints(points.read_text(encoding="utf-8")))
            kind = get_launcher_kind()
            for name, module, attr, section in entries:
                script_name, content = Script(name, module, attr, section).generate(
                    executable, kind
                )
                target = os.path.join(scheme["scripts"], script_name)
                if os.path.dirname(os.path.abspath(target)) != os.path.abspath(scheme["scripts"]):
                    raise InstallError(f"{decl.filename}: bad script name {name!r}")
                digest = record_hash("sha256", hashlib.sha256(content).digest())
                add(target, None, content, True, digest, len(content))
        except (ValueError, AssertionError, UnicodeDecodeError) as e:
            raise InstallError(f"{decl.filename}: unusable entry_points.txt ({e})") from e
    info = os.path.join(root_dir, wheel.dist_info)
    for name, content in metadata.items():
        digest = record_hash("sha256", hashlib.sha256(content).digest())
        add(os.path.join(info, name), None, content, False, digest, len(content))
    record_target = os.path.join(info, "RECORD")
    rows.append((os.path.relpath(record_target, root_dir).replace(os.sep, "/"), "", ""))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(sorted(rows))
    placements.append(_Placement(record_target, None, _b(out.getvalue()), False))
    return placements


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


def _removals(dists: Sequence[InstalledDist], roots: Sequence[str]) -> list[str]:
    paths: list[str] = []
    for dist in dists:
        files = dist.files(roots)
        if files is None:
            raise InstallError(
                f"cannot replace or remove {dist.name} {dist.version}: it has no RECORD"
            )
        paths += files
    return list(dict.fromkeys(paths))


class _Linker:
    """Hard links from the unpacked cache; copies once linking is refused (other device)."""

    def __init__(self) -> None:
        self.copy = False

    def place(self, placement: _Placement) -> None:
        if placement.data is not None:
            with open(placement.target, "xb") as f:
                f.write(placement.data)
            if placement.executable:
                os.chmod(placement.target, 0o755 & ~_umask())
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
        with open(placement.source, "rb") as src, open(placement.target, "xb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(placement.target, (0o755 if placement.executable else 0o644) & ~_umask())


def _umask() -> int:
    from wheelset.fsutil import current_umask

    return current_umask()


def _apply(
    scheme: Mapping[str, str],
    placements: Sequence[_Placement],
    remove: Sequence[InstalledDist],
    *,
    compile_with: str | None = None,
    on_file: dict[int, Declaration] | None = None,
    progress: Progress = NO_PROGRESS,
) -> None:
    """Remove ``remove`` and create ``placements`` in one journaled transaction.

    Raises:
        InstallError: a file to create exists and belongs to no distribution being replaced,
            or the change failed (it was rolled back).
    """
    roots = list(dict.fromkeys(scheme.values()))
    purelib = Path(scheme["purelib"])
    targets = [p.target for p in placements]
    try:
        purelib.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InstallError(f"cannot create {purelib}: {e.strerror}", code="ENVIRONMENT") from e
    with journal.environment_lock(purelib):
        journal.recover(purelib)
        removes = _removals(remove, roots)
        leaving = set(removes)
        for target in targets:
            if target not in leaving and os.path.lexists(target):
                raise InstallError(
                    f"{target} already exists and belongs to no distribution being replaced; "
                    "nothing was installed",
                    code="CONFLICT",
                )
        dirs = _new_dirs(targets)
        linker = _Linker()
        try:
            with journal.Transaction(purelib, targets, dirs, removes) as transaction:
                transaction.remove_all()
                transaction.make_dirs()
                made: set[str] = set()
                for number, placement in enumerate(placements):
                    if on_file is not None and number in on_file:
                        decl = on_file[number]
                        progress.item(f"{decl.name} {decl.version}", "installing")
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


def install_wheels(
    plan: InstallPlan,
    wheels: Mapping[CID, UnpackedWheel],
    *,
    compile_bytecode: bool = False,
    force: bool = False,
    progress: Progress = NO_PROGRESS,
) -> InstallReport:
    """Install the plan's wheels (verified and unpacked, in ``wheels``), all or nothing.

    Other installed versions of these projects (and, for an exact plan, the distributions
    outside the closure) are removed in the same transaction.
    Raises:
        InstallError: the change would break installed distributions (code BREAKS, unless
            ``force``), a file conflict, or an OS error; the environment is unchanged.
    """
    if plan.broken and not force:
        more = f" (and {len(plan.broken) - 1} more)" if len(plan.broken) > 1 else ""
        raise InstallError(
            f"this would break installed distributions: {'; '.join(plan.broken[:5])}"
            f"{more if len(plan.broken) > 5 else ''}; use --force to install anyway",
            code="BREAKS",
        )
    scheme = dict(plan.scheme)
    present = installed_distributions(scheme)
    wanted = [item.declaration for item in plan.to_install]
    replaced = [(d, present[d.name].version) for d in wanted if d.name in present]
    remove = [present[d.name] for d in wanted if d.name in present]
    remove += [d for d in plan.to_remove if d.name in present]
    placements: list[_Placement] = []
    starts: dict[int, Declaration] = {}
    owners: dict[str, Declaration] = {}
    for decl in wanted:
        metadata = {
            "INSTALLER": INSTALLER_NAME + b"\n",
            ORIGIN_FILE: _b(json.dumps({"root": str(plan.root), "wheel": str(decl.content_id)})),
        }
        if decl.name in plan.requested:
            metadata["REQUESTED"] = b""
        starts[len(placements)] = decl
        laid_out = _layout(
            decl, wheels[decl.content_id], scheme, plan.interpreter.executable, metadata
        )
        for placement in laid_out:
            other = owners.setdefault(placement.target, decl)
            if other is not decl:
                raise InstallError(
                    f"{other.filename} and {decl.filename} both install {placement.target}; "
                    "nothing was installed",
                    code="CONFLICT",
                )
        placements += laid_out
    if placements or remove:
        _apply(
            scheme,
            placements,
            remove,
            compile_with=plan.interpreter.executable if compile_bytecode and wanted else None,
            on_file=starts,
            progress=progress,
        )
    return InstallReport(
        tuple(wanted),
        tuple(replaced),
        tuple(item.declaration for item in plan.already_installed),
        compile_bytecode,
        tuple((d.name, d.version) for d in plan.to_remove),
    )


def uninstall(scheme: Mapping[str, str], names: Sequence[str]) -> list[InstalledDist]:
    """Remove these distributions in one transaction; returns what was removed.

    Raises:
        InstallError: a name is not installed (code UNKNOWN; nothing removed), or a
            distribution has no RECORD.
    """
    present = installed_distributions(scheme)
    wanted = [canonicalize_name(n) for n in names]
    unknown = [n for n in wanted if n not in present]
    if unknown:
        raise InstallError(
            f"not installed in {scheme['purelib']}: {', '.join(unknown)}; nothing was removed",
            code="UNKNOWN",
        )
    dists = [present[n] for n in dict.fromkeys(wanted)]
    _apply(scheme, [], dists)
    return dists


def _compile(executable: str, sources: Sequence[str]) -> None:
    """Byte-compile the installed modules with the target interpreter (its own cache tag)."""
    if not sources:
        return
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
