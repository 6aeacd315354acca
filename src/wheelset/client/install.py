"""Install projects of a root into an environment: resolve, fetch and verify, then change the
environment all or nothing.

Stages, each a function the CLI calls in turn: `plan_install` resolves the requested names
against the root (reading only the projects of the closure) for the target interpreter,
compares with what is installed and lists installed distributions whose requirements the
new versions would break; a `WheelFetch` obtains every wheel in parallel — each as soon as
the resolution selects it, so downloads overlap the reading of the root's next projects —
and unpacks it into the cache of verified, unpacked wheels (`wheelset.client.unpacked`: CID,
size and sha256 verified, then every member checked against RECORD) — a valid unpacked entry
is used without fetching or rehashing; if any wheel fails, nothing is installed;
`install_wheels` computes every file it will create and remove, refuses conflicts, then
applies the change (`wheelset.client.link`) in one `wheelset.client.journal` Transaction:
old versions are moved aside, files are hard-linked from the unpacked cache (copied across
file systems), scripts and RECORD/INSTALLER/REQUESTED/WHEELSET written; on any failure,
signal or kill -9 the environment is brought back. `uninstall` and `--exact` removals are
the same transaction without new files. Bytecode is compiled only on request, inside the
transaction. Never prints: progress goes to a wheelset.progress.Progress.
Entry points: plan_install(), WheelFetch, install_wheels(), uninstall(), repair(),
target_scheme(), InstallPlan, InstallReport, InstallError.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.client import journal, link
from wheelset.client.environment import (
    InstalledDist,
    broken_dependents,
    installed_distributions,
)
from wheelset.client.interpreter import Interpreter
from wheelset.client.resolve import ProjectLookup, resolve_lazily
from wheelset.errors import ContentMismatch, InstallError, RootError, WheelsetError
from wheelset.fetch.cache import Cache, CacheError
from wheelset.ipfs.cid import CID
from wheelset.ipfs.gateway import FetchCancelled, FetchError, GatewayFailure, GatewayFetcher
from wheelset.model.declarations import Declaration
from wheelset.progress import NO_PROGRESS, Progress
from wheelset.workers import signals_to_main_thread

if TYPE_CHECKING:
    from wheelset.client.root import Root
    from wheelset.client.unpacked import UnpackedWheel

__all__ = [
    "DEFAULT_WORKERS",
    "FROM_BUILD",
    "InstallError",
    "InstallPlan",
    "InstallReport",
    "PlanItem",
    "WheelFetch",
    "install_wheels",
    "plan_install",
    "repair",
    "target_scheme",
    "uninstall",
]

DEFAULT_WORKERS = 8  # parallel wheel downloads; gateways serve many streams at once
# bytes: a wheel from a node or a build directory up to this size is verified in memory, not
# through a cache file
IN_MEMORY_WHEEL = 64 << 20
FROM_BUILD = "build directory"  # the source of a wheel read from the ROOT's build directory


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
    lookup: ProjectLookup,
    root: CID,
    requested: Sequence[Requirement],
    interpreter: Interpreter,
    scheme: Mapping[str, str],
    *,
    all_names: Callable[[], Iterable[str]] | None = None,
    exact: bool = False,
    on_selected: Callable[[Declaration], None] | None = None,
) -> InstallPlan:
    """Resolve ``requested`` for ``interpreter`` and compare with what ``scheme`` holds;
    ``lookup`` reads the declarations of projects (asked only for the closure),
    ``all_names()`` every project name (for a "did you mean" hint).

    With ``exact``, every installed distribution outside the closure is to be removed.
    ``on_selected(declaration)`` is called, while the resolution goes on, for each wheel
    it selects that is not installed yet (`WheelFetch.start`: fetched meanwhile).
    Raises:
        ResolutionError: (from resolve) an unknown project, no wheel for this interpreter,
            a version conflict or an unsatisfied dependency.
    """
    platform = interpreter.platform
    present = installed_distributions(scheme)

    def selected_one(decl: Declaration) -> None:
        if on_selected is not None and not PlanItem(decl, _version_of(present, decl)).is_installed:
            on_selected(decl)

    resolution = resolve_lazily(
        lookup,
        requested,
        platform,
        target=f"this interpreter ({interpreter.executable}, Python "
        f"{platform.python_full_version}, {platform.tags[0]})",
        all_names=all_names,
        on_selected=selected_one,
    )
    items = tuple(PlanItem(d, _version_of(present, d)) for d in resolution.selected)
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


def _version_of(present: Mapping[NormalizedName, InstalledDist], decl: Declaration) -> str | None:
    return present[decl.name].version if decl.name in present else None


class _LateProgress:
    """Forwards progress to the Progress given to `attach`, holding what came before it (the
    fetches that start while the closure is still being resolved, before the bar exists)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._target: Progress | None = None
        self._advanced = 0
        self._held: list[tuple[str, str, str]] = []  # ("item", name, state) / ("warn", text, "")

    def attach(self, target: Progress) -> None:
        with self._lock:
            self._target = target
            if self._advanced:
                target.advance(self._advanced)
            for kind, a, b in self._held:
                target.item(a, b) if kind == "item" else target.warn(a)
            self._held.clear()

    def start(self, total: int | None, *, unit: str) -> None:
        raise AssertionError("the attached Progress is started by its owner")

    def advance(self, amount: int) -> None:
        with self._lock:
            if self._target is None:
                self._advanced += amount
                return
        self._target.advance(amount)

    def item(self, name: str, state: str) -> None:
        with self._lock:
            if self._target is None:
                self._held.append(("item", name, state))
                return
        self._target.item(name, state)

    def warn(self, message: str) -> None:
        with self._lock:
            if self._target is None:
                self._held.append(("warn", message, ""))
                return
        self._target.warn(message)


class WheelFetch:
    """Obtain wheels verified and unpacked (RECORD checked), in parallel, starting as soon as
    the resolution selects them; use as a context manager around planning and fetching.

    When ``root`` is a build directory, a wheel its tree holds (``build --with-wheels``) is
    read from there (Root.copy_file), verified like any other, before the node and the
    gateways; a copy that fails verification is a warning, and they are next. With
    ``keep_files`` (install --seed, which adds such wheels to a node from the cache) it is
    kept as a cache file whatever its size.
    `start(decl)` (given to plan_install as ``on_selected``) fetches and unpacks a wheel in
    the background (``workers`` at a time; no more than the cores when the wheels come from
    a node) — so the downloads overlap the reading of the root's next projects —
    and `wait(declarations)` returns every wanted wheel, starting those not started yet. A
    wheel already in the unpacked cache with its files unchanged is neither fetched nor
    rehashed. Leaving the block cancels what is still running (a failed resolution, Ctrl-C)
    and leaves no empty cache directory; a wheel fetched but not installed stays verified in
    the cache (unpacked; also as a file when it came from a gateway, or is larger than
    IN_MEMORY_WHEEL).
    """

    def __init__(
        self,
        cache: Cache,
        fetcher: GatewayFetcher,
        *,
        workers: int = DEFAULT_WORKERS,
        root: Root | None = None,
        keep_files: bool = False,
    ) -> None:
        from wheelset.client.unpacked import UnpackedCache

        self._cache = cache
        self._fetcher = fetcher
        self._root = root
        self._keep_files = keep_files
        self._unpacked = UnpackedCache(cache.directory)
        if fetcher.reads_node:
            from wheelset.workers import usable_cores

            # A node hands a wheel over at memory speed (one CAR, or the blocks that came
            # with its project): what is left is hashing, writing and unpacking, which more
            # threads than cores only slow down, contending for the interpreter lock.
            workers = min(workers, usable_cores())
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, workers), initializer=signals_to_main_thread
        )
        self._cancel = threading.Event()
        self._futures: dict[CID, Future[UnpackedWheel]] = {}
        self._started: list[Declaration] = []
        self._progress = _LateProgress()

    def __enter__(self) -> WheelFetch:
        return self

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        if error is not None:
            self._cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._cancel.is_set():
            _drop_empty_entries(self._cache, self._started)

    def start(self, decl: Declaration) -> None:
        """Begin obtaining ``decl``'s wheel in the background (once)."""
        if decl.content_id not in self._futures:
            self._started.append(decl)
            self._futures[decl.content_id] = self._pool.submit(self._obtain, decl)

    def _obtain(self, decl: Declaration) -> UnpackedWheel:
        progress = self._progress
        entry = self._unpacked.get(str(decl.content_id))
        if entry is not None:
            progress.advance(decl.size or 0)
            progress.item(decl.filename, "cache")
            return entry
        refused = None
        if self._root is not None and self._root.tree is not None:
            from_tree, refused = self._from_tree(decl)
            if from_tree is not None:
                return self._unpack(decl, from_tree, FROM_BUILD)
            if refused is not None:
                progress.warn(f"{decl.filename}: {refused}")
        try:
            wheel_file, source = self._fetch(decl)
        except FetchError as e:
            if refused is None or isinstance(e, FetchCancelled):
                raise
            raise FetchError(f"{e}; {refused}", (refused, *e.failures)) from e
        return self._unpack(decl, wheel_file, source)

    def _fetch(self, decl: Declaration) -> tuple[Path | BinaryIO, str]:
        """The verified wheel from the node or the gateways (through the cache), and where it
        came from."""
        progress = self._progress
        wheel_file: Path | BinaryIO
        if self._fetcher.reads_node and decl.size is not None and decl.size <= IN_MEMORY_WHEEL:
            # The node holds the wheel: verified in memory and unpacked from there, it
            # costs no file in the cache (creating files is most of a cold install's time);
            # the unpacked entry is what a later install uses.
            wheel_file = io.BytesIO()
            got = self._fetcher.fetch_into(
                decl.content_id,
                wheel_file,
                size=decl.size,
                sha256=decl.sha256,
                label=decl.filename,
                on_progress=progress.advance,
                cancel=self._cancel,
            )
            source, failures = got.gateway, got.failures
        else:
            obtained = self._cache.obtain(
                decl.content_id,
                self._fetcher,
                decl.filename,
                size=decl.size,
                sha256=decl.sha256,
                label=decl.filename,
                on_progress=progress.advance,
                cancel=self._cancel,
            )
            if obtained.source == "cache":
                progress.advance(obtained.size)
            wheel_file, source, failures = obtained.path, obtained.source, obtained.failures
        for failure in failures:
            progress.warn(f"{decl.filename}: {failure}")
        return wheel_file, source

    def _from_tree(self, decl: Declaration) -> tuple[Path | BinaryIO | None, GatewayFailure | None]:
        """The wheel as the root's build directory holds it (Root.copy_file), verified in the
        one pass that reads it: into memory up to IN_MEMORY_WHEEL (the tree is the user's own
        disk, like a node: no cache file), else into the cache. What is unpacked is then
        what was verified, whatever happens to the tree's file meanwhile. (None, None) when
        the tree lacks the wheel; (None, why) when its copy is unreadable, stale or damaged.

        Raises:
            FetchCancelled: another wheel failed meanwhile.
            CacheError: the cache cannot be written.
        """
        assert self._root is not None
        progress, read = self._progress, 0

        def take(chunk: memoryview) -> None:
            nonlocal read
            if self._cancel.is_set():
                raise FetchCancelled("cancelled")
            try:
                sink.write(chunk)
            except OSError as e:
                raise CacheError(f"cache {self._cache.directory}: {e.strerror or e}") from e
            read += len(chunk)
            progress.advance(len(chunk))

        try:
            with contextlib.ExitStack() as stack:
                tmp = None
                if not self._keep_files and decl.size is not None and decl.size <= IN_MEMORY_WHEEL:
                    sink: BinaryIO = io.BytesIO()
                else:
                    sink, tmp = stack.enter_context(self._cache.temp_writer(decl.filename))
                digest = self._root.copy_file(
                    decl.name, decl.filename, decl.content_id, size=decl.size,
                    sha256=decl.sha256, on_chunk=take,
                )  # fmt: skip
                if digest is None:
                    return None, None
                if tmp is None:
                    return sink, None
                sink.close()
                return self._cache.put_file(digest, decl.filename, tmp), None
        except (ContentMismatch, RootError) as e:
            from wheelset.client.root import tree_copy_failure

            progress.advance(-read)
            return None, tree_copy_failure(e)

    def _unpack(self, decl: Declaration, wheel_file: Path | BinaryIO, source: str) -> UnpackedWheel:
        try:
            wheel = self._unpacked.unpack(str(decl.content_id), wheel_file, decl.filename)
        except OSError as e:
            raise CacheError(f"cache {self._cache.directory}: {e}") from e
        self._progress.item(decl.filename, source)
        return wheel

    def wait(
        self, declarations: Sequence[Declaration], *, progress: Progress = NO_PROGRESS
    ) -> dict[CID, UnpackedWheel]:
        """Every wheel of ``declarations``, verified and unpacked.

        Raises:
            InstallError: a wheel could not be fetched or verified from any gateway (code
                VERIFY when a gateway served wrong bytes, FETCH otherwise), or is not a valid
                wheel. The message names the wheel; the other fetches are cancelled.
            CacheError: the cache cannot be written.
        """
        if not declarations:
            return {}
        progress.start(sum(d.size or 0 for d in declarations) or None, unit="bytes")
        self._progress.attach(progress)
        # Largest first: the long downloads start early, the small ones fill in around them.
        for decl in sorted(declarations, key=lambda d: -(d.size or 0)):
            self.start(decl)
        futures = {self._futures[d.content_id]: d for d in declarations}
        ready: dict[CID, UnpackedWheel] = {}
        errors: dict[str, WheelsetError] = {}
        try:
            for future in as_completed(futures):
                decl = futures[future]
                try:
                    ready[decl.content_id] = future.result()
                except FetchCancelled:
                    continue
                except WheelsetError as e:
                    errors[decl.filename] = e
                    self._cancel.set()
        except BaseException:  # Ctrl-C: stop the downloads before waiting for them
            self._cancel.set()
            raise
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
    return InstallError(f"{error}{more}; nothing was installed", path=error.path, code=code)


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
    to_link = [
        link.Wheel(
            d.name,
            str(d.version),
            d.filename,
            str(d.content_id),
            wheels[d.content_id],
            d.name in plan.requested,
        )
        for d in wanted
    ]
    executable = plan.interpreter.executable
    placements, starts = link.lay_out_wheels(to_link, str(plan.root), scheme, executable)
    if placements or remove:
        link.apply(
            scheme["purelib"],
            placements,
            _removals(remove, list(dict.fromkeys(scheme.values()))),
            compile_with=executable if compile_bytecode and wanted else None,
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
    link.apply(scheme["purelib"], [], _removals(dists, list(dict.fromkeys(scheme.values()))))
    return dists
