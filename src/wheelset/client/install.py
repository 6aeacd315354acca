"""Install projects of a root into an environment: resolve, fetch and verify every wheel, install.

Stages, each a function the CLI calls in turn: `plan_install` resolves the requested names
against the root (reading only the projects of the closure) for the target interpreter
and compares with what is already installed; `fetch_wheels` obtains every wheel to
install in parallel through the content cache (CID, size and sha256 verified, then
RECORD validated) — if any wheel fails, nothing is installed; `install_wheels` installs
them with `installer` (INSTALLER is ``wheelset``; RECORD written; REQUESTED for the
requested projects), replacing other
versions of the same projects. Bytecode is compiled only on request. Never prints: progress
goes to an InstallObserver. Entry points: plan_install(), fetch_wheels(), install_wheels(),
target_scheme(), InstallPlan, InstallReport, InstallError.
"""

from __future__ import annotations

import os
import subprocess
import threading
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from importlib.metadata import Distribution, distributions
from pathlib import Path

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.sources import WheelFile
from installer.utils import get_launcher_kind
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.client.interpreter import Interpreter
from wheelset.client.resolve import resolve_lazily
from wheelset.errors import WheelsetError
from wheelset.fetch.cache import Cache
from wheelset.ipfs.cid import CID
from wheelset.ipfs.gateway import FetchCancelled, FetchError, GatewayFailure, GatewayFetcher
from wheelset.model.declarations import Declaration

__all__ = [
    "DEFAULT_WORKERS",
    "InstallError",
    "InstallObserver",
    "InstallPlan",
    "InstallReport",
    "PlanItem",
    "fetch_wheels",
    "install_wheels",
    "plan_install",
    "target_scheme",
]

DEFAULT_WORKERS = 8  # parallel wheel downloads; gateways serve many streams at once
INSTALLER_NAME = b"wheelset"
_RECORD_VALID = "record-valid"  # cache mark: this content's RECORD matched its files


class InstallError(WheelsetError):
    """A wheel could not be fetched, verified or installed (nothing or little was changed)."""


class InstallObserver:
    """Progress callbacks (no-ops here); may be called from worker threads."""

    def fetch_started(self, count: int, total_bytes: int) -> None:
        """``count`` wheels of ``total_bytes`` (declared sizes) are about to be obtained."""

    def advanced(self, delta: int) -> None:
        """Bytes arrived (negative when an abandoned attempt is discounted)."""

    def wheel_ready(self, decl: Declaration, source: str) -> None:
        """A wheel is verified; ``source`` is ``cache`` or a gateway URL."""

    def gateway_failed(self, decl: Declaration, failure: GatewayFailure) -> None:
        """A gateway did not deliver this wheel (another one did, or will be tried)."""

    def installing(self, decl: Declaration) -> None:
        """About to install this wheel."""


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


def _installed(scheme: Mapping[str, str]) -> dict[NormalizedName, Distribution]:
    paths = list(dict.fromkeys([scheme["purelib"], scheme["platlib"]]))
    found: dict[NormalizedName, Distribution] = {}
    for dist in distributions(path=paths):
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), dist)
    return found


def plan_install(
    lookup: Callable[[Sequence[str]], Iterable[Declaration]],
    root: CID,
    requested: Sequence[Requirement],
    interpreter: Interpreter,
    scheme: Mapping[str, str],
    *,
    all_names: Callable[[], Iterable[str]] | None = None,
) -> InstallPlan:
    """Resolve ``requested`` for ``interpreter`` and compare with what ``scheme`` holds;
    ``lookup(names)`` gives the declarations of projects (asked only for the closure),
    ``all_names()`` every project name (for a "did you mean" hint).

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
    present = _installed(scheme)
    items = tuple(
        PlanItem(d, present[d.name].version if d.name in present else None)
        for d in resolution.selected
    )
    return InstallPlan(root, interpreter, dict(scheme), items, resolution.requested)


def _validate(path: Path, decl: Declaration) -> None:
    try:
        with WheelFile.open(path) as wheel:
            wheel.validate_record(validate_contents=True)
    except (InstallerError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise InstallError(
            f"{decl.filename}: not a valid wheel ({e}); nothing was installed", code="WHEEL"
        ) from e


def fetch_wheels(
    declarations: Sequence[Declaration],
    cache: Cache,
    fetcher: GatewayFetcher,
    *,
    workers: int = DEFAULT_WORKERS,
    observer: InstallObserver | None = None,
) -> dict[CID, Path]:
    """Obtain every wheel, verified, in parallel; then validate each wheel's RECORD.

    Raises:
        InstallError: a wheel could not be fetched or verified from any gateway (code VERIFY
            when a gateway served wrong bytes, FETCH otherwise), or is not a valid wheel. The
            message names the wheel; the other fetches are cancelled.
    """
    observe = observer or InstallObserver()
    observe.fetch_started(len(declarations), sum(d.size or 0 for d in declarations))
    cancel = threading.Event()

    def obtain(decl: Declaration) -> Path:
        got = cache.obtain(
            decl.content_id,
            fetcher,
            decl.filename,
            size=decl.size,
            sha256=decl.sha256,
            label=decl.filename,
            on_progress=observe.advanced,
            cancel=cancel,
        )
        for failure in got.failures:
            observe.gateway_failed(decl, failure)
        if got.source == "cache":
            observe.advanced(got.size)
        # The same CID is the same bytes, so a wheel whose RECORD once validated still does.
        if not cache.has_mark(decl.content_id, _RECORD_VALID):
            _validate(got.path, decl)
            cache.mark(decl.content_id, _RECORD_VALID)
        observe.wheel_ready(decl, got.source)
        return got.path

    # Largest first: the long downloads start early, the small ones fill in around them.
    ordered = sorted(declarations, key=lambda d: -(d.size or 0))
    paths: dict[CID, Path] = {}
    errors: dict[str, WheelsetError] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ordered)))) as pool:
        futures = {pool.submit(obtain, decl): decl for decl in ordered}
        try:
            for future in as_completed(futures):
                decl = futures[future]
                try:
                    paths[decl.content_id] = future.result()
                except FetchCancelled:
                    continue
                except WheelsetError as e:
                    errors[decl.filename] = e
                    cancel.set()
        except BaseException:  # Ctrl-C: stop the downloads before waiting for them
            cancel.set()
            raise
    if errors:
        raise _fetch_failure(errors)
    return paths


def _fetch_failure(errors: Mapping[str, WheelsetError]) -> InstallError:
    filename = sorted(errors)[0]
    error = errors[filename]
    if isinstance(error, InstallError):
        return error
    more = f" (and {len(errors) - 1} more wheels failed)" if len(errors) > 1 else ""
    tampered = isinstance(error, FetchError) and any(f.kind == "mismatch" for f in error.failures)
    code = "VERIFY" if tampered else "FETCH" if isinstance(error, FetchError) else error.code
    return InstallError(f"{error}{more}; nothing was installed", code=code)


def _remove_distribution(dist: Distribution, roots: Sequence[str]) -> None:
    """Delete an installed distribution's files as listed in its RECORD (inside ``roots`` only).

    Raises:
        InstallError: the distribution has no RECORD, so its files are unknown.
    """
    if dist.files is None:
        raise InstallError(
            f"cannot replace {dist.metadata['Name']} {dist.version}: it has no RECORD"
        )
    base = Path(str(dist.locate_file("")))
    allowed = [Path(r).resolve() for r in roots]
    directories: set[Path] = set()
    for entry in dist.files:
        path = (base / str(entry)).resolve()
        if not any(path.is_relative_to(root) for root in allowed):
            continue
        if path.suffix == ".py":
            cache_dir = path.parent / "__pycache__"
            for compiled in cache_dir.glob(f"{path.stem}.*.pyc"):
                compiled.unlink(missing_ok=True)
            directories.add(cache_dir)
        path.unlink(missing_ok=True)
        directories.add(path.parent)
    # Deepest first, so a package directory empties before its parent is looked at.
    for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
        if directory in allowed or not directory.is_dir() or any(directory.iterdir()):
            continue
        directory.rmdir()


def _installed_record(scheme: Mapping[str, str], name: NormalizedName) -> Distribution | None:
    return _installed(scheme).get(name)


def install_wheels(
    plan: InstallPlan,
    files: Mapping[CID, Path],
    *,
    compile_bytecode: bool = False,
    workers: int = DEFAULT_WORKERS,
    observer: InstallObserver | None = None,
) -> InstallReport:
    """Install the plan's wheels (already verified, in ``files``).

    Other installed versions of these projects are removed first; then the wheels are
    installed in parallel (each into its own files; writing is mostly waiting on the file
    system). If one fails, the wheels installed by this call are removed again.
    Raises:
        InstallError: a file conflict or an OS error, naming the wheel.
    """
    observe = observer or InstallObserver()
    scheme = dict(plan.scheme)
    roots = list(dict.fromkeys(scheme.values()))
    present = _installed(scheme)
    replaced: list[tuple[Declaration, str]] = []
    wanted = [item.declaration for item in plan.to_install]
    for decl in wanted:
        if decl.name in present:
            old_version = present[decl.name].version  # read before its files go
            _remove_distribution(present[decl.name], roots)
            replaced.append((decl, old_version))

    def install_one(decl: Declaration) -> Declaration:
        observe.installing(decl)
        _install_one(decl, files[decl.content_id], plan, scheme)
        return decl

    done: set[Declaration] = set()
    failures: dict[str, Exception] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted)))) as pool:
        futures = {pool.submit(install_one, decl): decl for decl in wanted}
        for future in as_completed(futures):
            try:
                done.add(future.result())
            except (InstallerError, OSError, ValueError, zipfile.BadZipFile) as e:
                failures[futures[future].filename] = e
    if failures:
        _roll_back([d for d in wanted if d in done], scheme, roots)
        filename = sorted(failures)[0]
        undone = f"; the {len(done)} wheels installed with it were removed" if done else ""
        raise InstallError(
            f"{filename}: cannot install: {failures[filename]}{undone}"
        ) from failures[filename]
    if compile_bytecode and wanted:
        _compile(plan.interpreter.executable, wanted, scheme)
    return InstallReport(
        tuple(wanted),
        tuple(replaced),
        tuple(item.declaration for item in plan.already_installed),
        compile_bytecode,
    )


def _install_one(decl: Declaration, path: Path, plan: InstallPlan, scheme: dict[str, str]) -> None:
    wheel_scheme = dict(scheme)
    wheel_scheme["headers"] = os.path.join(scheme["headers"], decl.name)
    destination = SchemeDictionaryDestination(
        wheel_scheme,
        interpreter=plan.interpreter.executable,
        script_kind=get_launcher_kind(),
    )
    metadata = {"INSTALLER": INSTALLER_NAME + b"\n"}
    if decl.name in plan.requested:
        metadata["REQUESTED"] = b""
    with WheelFile.open(path) as source:
        install(source, destination, metadata)


def _roll_back(
    installed: Sequence[Declaration], scheme: Mapping[str, str], roots: list[str]
) -> None:
    for decl in reversed(installed):
        dist = _installed_record(scheme, decl.name)
        if dist is not None:
            _remove_distribution(dist, roots)


def _compile(executable: str, installed: Sequence[Declaration], scheme: Mapping[str, str]) -> None:
    """Byte-compile the installed modules with the target interpreter (its own cache tag)."""
    sources: list[str] = []
    for decl in installed:
        dist = _installed_record(scheme, decl.name)
        if dist is None:
            continue
        base = Path(str(dist.locate_file("")))
        sources += [str(base / str(f)) for f in dist.files or () if str(f).endswith(".py")]
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
        raise InstallError(f"byte-compiling failed (the wheels are installed): {last}")
