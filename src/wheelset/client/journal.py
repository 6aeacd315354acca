"""All-or-nothing changes to an environment, surviving exceptions, signals and kill -9.

A Transaction changes one environment (install, replace, remove files) under a journal:
``<state dir>/journal.json`` (the state dir is ``<purelib>/.wheelset-transaction``) is written
and fsync'd before the first change. It lists every file the transaction will create, every
directory it will create, and every file it moves aside (into ``backup/`` in the same state
dir, so on the same file system: a rename, not a copy). Files are never deleted before the
commit point, which is the journal rewritten with ``"state": "committed"`` — or, when nothing
was moved aside, the journal deleted.

Durability (power loss, not only kill -9, which the page cache survives): the journal is
made durable (file and directory fsync'd) before the first change, so whatever part of the
change reached the disk, the journal that undoes it did too. The committed journal is made
durable before the backups are deleted: otherwise a power loss could keep the deletion of a
backup and lose the commit, and recovery would roll back without the old file. With nothing
moved aside there is no backup to lose, so the commit (deleting the journal) is not
fsync'd: a power loss before it reaches the disk rolls the whole change back, which is a
state the environment was in. That saves two of the four fsyncs of a fresh install (the
installed files themselves are never fsync'd, as pip and uv do not).

Whatever interrupts a transaction, the environment can be brought back: `roll_back` (on any
exception, KeyboardInterrupt or a signal turned into an exception) restores the moved files
and deletes the created ones; after kill -9 the journal is still there and `recover` — run
by the next command on that environment before anything else — rolls back, or finishes the
clean-up when the journal says committed. While a transaction runs, the environment's
purelib directory is flock'ed, so two wheelset processes never interleave.

Knows nothing about wheels: callers give paths. Entry points: Transaction, recover(),
environment_lock(), signals_deferred(), JournalError.
"""

from __future__ import annotations

import _signal  # signal's C module: signal itself imports enum (a warm install's cost)
import contextlib
import errno
import fcntl
import os
import threading
import time
from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence

from wheelset.client import fastjson
from wheelset.errors import JournalError

TYPE_CHECKING = False  # typing and pathlib are not loaded on the warm install path
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "STATE_DIR",
    "JournalError",
    "Recovery",
    "Transaction",
    "environment_lock",
    "pending",
    "recover",
    "signals_deferred",
]

STATE_DIR = ".wheelset-transaction"
_JOURNAL = "journal.json"
_BACKUP = "backup"
# Tests set this to "N:PATH": after the N-th file change, create PATH and sleep, so that a
# signal or kill -9 can be delivered at a precise point of the install phase.
_PAUSE_HOOK = "WHEELSET_TEST_PAUSE_AFTER"


class Recovery(namedtuple("Recovery", "action restored removed")):
    """What `recover` did: ``action`` (str) "rolled back" or "finished" an interrupted
    transaction, ``restored`` files moved back, ``removed`` files of the interrupted change
    deleted (ints)."""

    __slots__ = ()


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_journal(state_dir: str, doc: dict[str, object]) -> None:
    """Replace the journal durably: temp file, fsync, rename, fsync of the directory."""
    tmp = os.path.join(state_dir, f"{_JOURNAL}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(fastjson.dumps(doc, compact=True))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(state_dir, _JOURNAL))
    _fsync_directory(state_dir)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a rollback or commit runs (delivered afterwards).

    Only the main thread receives signals, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {_signal.SIGINT, _signal.SIGTERM}
    old = _signal.pthread_sigmask(_signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, old)


@contextlib.contextmanager
def environment_lock(directory: str | Path) -> Iterator[None]:
    """Exclusive use of an environment, held by an flock on its purelib directory.

    Raises:
        JournalError: the directory cannot be opened, or another process holds it (waited
            for up to a minute).
    """
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise JournalError(f"cannot open: {e.strerror}", path=directory) from e
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise JournalError(
                        "in use by another wheelset process", path=directory
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _move(source: str, target: str) -> None:
    """Rename, or (another file system) copy to a temp name, rename, then delete."""
    try:
        os.rename(source, target)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        import shutil

        tmp = f"{target}.tmp"
        shutil.copy2(source, tmp, follow_symlinks=False)
        os.rename(tmp, target)
        os.unlink(source)


def _exists(path: str) -> bool:
    return os.path.lexists(path)


class Transaction:
    """One all-or-nothing change of an environment; use as a context manager.

    ``with Transaction(state_parent, creates, removes) as t:`` writes the journal; inside,
    call `remove_all` (move the old files aside), then `create_dir` / `created` around each
    new file, then `commit`. Leaving the block without commit() rolls back.
    ``creates`` are the absolute paths of every file that will be created (none may exist
    unless it is also in ``removes``); ``dirs`` the directories to create, parents first.
    """

    def __init__(
        self,
        state_parent: str | Path,
        creates: Sequence[str],
        dirs: Sequence[str],
        removes: Sequence[str],
    ):
        self.state_dir = os.path.join(state_parent, STATE_DIR)
        self._creates = list(creates)
        self._dirs = list(dirs)
        self._removes = list(removes)
        self._steps = 0
        self._pause = _pause_hook()
        self._committed = False

    def _doc(self, state: str) -> dict[str, object]:
        return {
            "version": 1,
            "state": state,
            "creates": self._creates,
            "dirs": self._dirs,
            "removes": self._removes,
        }

    def __enter__(self) -> Transaction:
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.state_dir)
            if self._removes:
                os.mkdir(os.path.join(self.state_dir, _BACKUP))
            _write_journal(self.state_dir, self._doc("applying"))
        except OSError as e:
            _remove_tree(self.state_dir)
            raise JournalError(f"cannot write the journal: {e}", path=self.state_dir) from e
        return self

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        if self._committed:
            return
        with signals_deferred():
            _roll_back(self.state_dir, self._doc("applying"))

    def step(self) -> None:
        """Count one file change (the test hook may pause here)."""
        self._steps += 1
        if self._pause is not None and self._steps == self._pause[0]:
            with open(self._pause[1], "a"):
                pass
            # In slices: a signal that lands after the sentinel is made but before a sleep
            # starts is handled only when that sleep ends (one sleep of 60 s: a minute late).
            for _ in range(600):
                time.sleep(0.1)

    def remove_all(self) -> None:
        """Move every file to be removed aside (in journal order, so backups are numbered)."""
        backup = os.path.join(self.state_dir, _BACKUP)
        for number, path in enumerate(self._removes):
            if _exists(path):
                _move(path, os.path.join(backup, str(number)))
                self.step()
        for directory in _emptied_directories(self._removes):
            with contextlib.suppress(OSError):
                os.rmdir(directory)

    def make_dirs(self) -> None:
        """Make the directories (parents first: one mkdir each)."""
        for directory in self._dirs:
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory)

    def commit(self) -> None:
        """The commit point: from here on, recovery finishes instead of rolling back."""
        with signals_deferred():
            if self._removes:  # backups are about to be deleted: the commit must be durable
                try:
                    _write_journal(self.state_dir, self._doc("committed"))
                except OSError as e:
                    raise JournalError(f"cannot write the journal: {e}", path=self.state_dir) from e
            self._committed = True
            _finish(self.state_dir)


def _emptied_directories(paths: Iterable[str]) -> list[str]:
    """Parents of ``paths`` (and their __pycache__), deepest first: candidates for rmdir."""
    found: set[str] = set()
    for path in paths:
        parent = os.path.dirname(path)
        found.add(parent)
        if path.endswith(".py"):
            found.add(os.path.join(parent, "__pycache__"))
    return sorted(found, key=lambda p: p.count(os.sep), reverse=True)


def _pause_hook() -> tuple[int, str] | None:
    value = os.environ.get(_PAUSE_HOOK, "")
    count, _, path = value.partition(":")
    return (int(count), path) if count.isdigit() and path else None


def _compiled_of(path: str) -> list[str]:
    """The bytecode files of a module source (any interpreter's cache tag)."""
    if not path.endswith(".py"):
        return []
    cache = os.path.join(os.path.dirname(path), "__pycache__")
    stem = os.path.basename(path)[:-3] + "."
    try:
        names = os.listdir(cache)
    except OSError:
        return []
    return [os.path.join(cache, n) for n in names if n.startswith(stem) and n.endswith(".pyc")]


def _roll_back(state_dir: str, doc: dict[str, object]) -> tuple[int, int]:
    """Restore what was moved aside, delete what was created; (restored, removed)."""
    creates = [str(p) for p in doc["creates"]]  # type: ignore[union-attr]
    removes = [str(p) for p in doc["removes"]]  # type: ignore[union-attr]
    dirs = [str(p) for p in doc["dirs"]]  # type: ignore[union-attr]
    backup = os.path.join(state_dir, _BACKUP)
    restored = removed = 0
    old = set(removes)
    for path in creates:
        # Bytecode of a new module is new, unless it is an old file listed in removes.
        for compiled in _compiled_of(path):
            if compiled not in old:
                os.unlink(compiled)
        if path not in old and _exists(path):  # an old path gets its backup back below
            os.unlink(path)
            removed += 1
    for number, path in enumerate(removes):
        saved = os.path.join(backup, str(number))
        if _exists(saved):  # else it was never moved and is still in place
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.replace(saved, path)
            restored += 1
    for directory in _emptied_directories(creates) + sorted(dirs, reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(directory)
    _finish(state_dir)
    return restored, removed


def _finish(state_dir: str) -> None:
    """Drop the backups, then the journal (last: while it exists, recovery can still run)."""
    backup = os.path.join(state_dir, _BACKUP)
    if os.path.lexists(backup):
        _remove_tree(backup)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(state_dir, _JOURNAL))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(state_dir, f"{_JOURNAL}.tmp"))
    with contextlib.suppress(OSError):
        os.rmdir(state_dir)


def _remove_tree(path: str) -> None:
    import shutil  # a fresh install has no backups: not loaded then

    shutil.rmtree(path, ignore_errors=True)


def pending(state_parent: str | Path) -> bool:
    """Whether an interrupted transaction left its state here."""
    return os.path.exists(os.path.join(state_parent, STATE_DIR))


def recover(state_parent: str | Path) -> Recovery | None:
    """Bring back the environment after an interrupted transaction (None: nothing to do).

    Call with the environment locked. A journal that says committed is finished (backups
    dropped); any other is rolled back. A state dir without a journal (killed before the
    journal was written) held no change yet and is removed.

    Raises:
        JournalError: the journal cannot be read or the files cannot be restored.
    """
    state_dir = os.path.join(state_parent, STATE_DIR)
    if not os.path.exists(state_dir):
        return None
    journal = os.path.join(state_dir, _JOURNAL)
    try:
        with open(journal, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        _finish(state_dir)
        return Recovery("cleaned", 0, 0)
    except OSError as e:
        raise JournalError(f"cannot read: {e.strerror or e}", path=journal) from e
    try:
        doc = fastjson.loads(text)
        if not isinstance(doc, dict) or doc.get("version") != 1:
            raise ValueError("not a version-1 journal")
        for key in ("creates", "dirs", "removes"):
            if not isinstance(doc.get(key), list):
                raise ValueError(f"no list {key!r}")
    except ValueError as e:
        raise JournalError(f"not a wheelset journal ({e}); remove it by hand", path=journal) from e
    with signals_deferred():
        if doc.get("state") == "committed":
            _finish(state_dir)
            return Recovery("finished", 0, 0)
        try:
            restored, removed = _roll_back(state_dir, doc)
        except OSError as e:
            raise JournalError(f"cannot roll back the change it journals: {e}", path=journal) from e
    return Recovery("rolled back", restored, removed)
