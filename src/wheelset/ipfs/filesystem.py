"""Import a path from disk exactly as `ipfs add -r` does with Kubo's defaults.

Rules from Kubo's `add` and boxo's `files.NewSerialFileWithFilter`: the argument itself is
looked at with lstat (so a symlink argument is stored as a link, and a trailing slash does
not follow it); inside directories, names starting with "." are skipped unless
``include_hidden``; empty directories are kept; symlinks become UnixFS Symlink nodes
holding the target bytes; FIFOs, sockets and devices are refused. With
``dereference_symlinks`` (Kubo's ``--dereference-symlinks``) every link is followed
instead, and loops are refused. Files are streamed through a few chunk buffers; memory grows only
with the number of entries in the directories currently open, never with file size.
No network, no wheels. Entry point: import_path().
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field

from wheelset.errors import ImportPathError
from wheelset.ipfs.blockstore import BlockStore
from wheelset.ipfs.cid import cid_for_block
from wheelset.ipfs.dagpb import SYMLINK, PBNode, UnixFSData, encode_node, encode_unixfs
from wheelset.ipfs.directory import build_directory
from wheelset.ipfs.importer import Imported, ImportParams, import_file

__all__ = ["ImportPathError", "import_path", "import_symlink_target", "is_hidden"]

_KUBO_DEFAULTS = ImportParams()


def is_hidden(name: str) -> bool:
    """Whether Kubo skips this directory entry by default (boxo `isHidden`).

    >>> is_hidden(".git"), is_hidden("a.txt")
    (True, False)
    """
    return name not in ("", ".", "..") and name.startswith(".")


def _error_from_os(path: str, e: OSError) -> ImportPathError:
    reason = e.strerror or str(e)
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        code = "NOT-FOUND"
    elif e.errno == errno.ELOOP:
        code, reason = "SYMLINK-LOOP", "symbolic link loop"
    else:
        code = "UNREADABLE"
    return ImportPathError(reason.lower(), path=path, code=code)


def _special_file(path: str, mode: int) -> ImportPathError:
    kinds = {
        stat.S_IFIFO: "named pipe (FIFO)",
        stat.S_IFSOCK: "socket",
        stat.S_IFCHR: "character device",
        stat.S_IFBLK: "block device",
    }
    kind = kinds.get(stat.S_IFMT(mode), "special file")
    return ImportPathError(
        f"is a {kind}; only regular files, directories and symlinks can be added",
        path=path,
        code="SPECIAL-FILE",
    )


def import_symlink_target(
    target: bytes, *, cid_version: int = 0, store: BlockStore | None = None
) -> Imported:
    """The UnixFS Symlink node Kubo writes for a link to ``target`` (Type=4, Data=target)."""
    block = encode_node(PBNode((), encode_unixfs(UnixFSData(SYMLINK, data=target))))
    cid = cid_for_block(block, version=cid_version)
    if store is not None:
        store.put(cid, block)
    return Imported(cid, len(block), 0)


@dataclass
class _Walk:
    params: ImportParams
    store: BlockStore | None
    include_hidden: bool
    follow: bool

    def stat(self, path: str) -> os.stat_result:
        try:
            return os.stat(path) if self.follow else os.lstat(path)
        except OSError as e:
            raise _error_from_os(path, e) from e

    def leaf(self, path: str, st: os.stat_result) -> Imported:
        """Import a non-directory: regular file or symlink."""
        if stat.S_ISREG(st.st_mode):
            return self.regular_file(path)
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.fsencode(os.readlink(path))
            except OSError as e:
                raise _error_from_os(path, e) from e
            return import_symlink_target(
                target, cid_version=self.params.cid_version, store=self.store
            )
        raise _special_file(path, st.st_mode)

    def regular_file(self, path: str) -> Imported:
        # O_NONBLOCK: if the path was swapped for a FIFO since lstat, don't hang on open.
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        if not self.follow:
            flags |= getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags)
        except OSError as e:
            raise _error_from_os(path, e) from e
        with os.fdopen(fd, "rb", buffering=0) as f:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise _special_file(path, mode)
            try:
                return import_file(f, self.params, store=self.store)
            except OSError as e:
                raise _error_from_os(path, e) from e

    def list_directory(self, path: str) -> list[str]:
        try:
            names = os.listdir(path)
        except OSError as e:
            raise _error_from_os(path, e) from e
        if not self.include_hidden:
            names = [n for n in names if not is_hidden(n)]
        for name in names:
            try:
                os.fsencode(name).decode("utf-8")
            except UnicodeDecodeError:
                raise ImportPathError(
                    "file name is not valid UTF-8 (UnixFS names are UTF-8 text here)",
                    path=os.path.join(path, name),
                    code="NAME",
                ) from None
        # Sorted so that the first error reported is the same on every run.
        return sorted(names, key=os.fsencode, reverse=True)


@dataclass
class _OpenDirectory:
    path: str
    name: str
    identity: tuple[int, int]
    pending: list[str]  # reversed: pop() gives the next name in byte order
    children: list[tuple[str, Imported]] = field(default_factory=list)


def import_path(
    path: str | os.PathLike[str],
    params: ImportParams = _KUBO_DEFAULTS,
    *,
    store: BlockStore | None = None,
    include_hidden: bool = False,
    dereference_symlinks: bool = False,
) -> Imported:
    """The root `ipfs add -r --only-hash PATH` reports (a file, directory or symlink).

    Blocks go to ``store`` when one is given. Directories are walked without recursion,
    so depth is limited only by the file system.

    Raises:
        ImportPathError: the path or anything under it is missing, unreadable, a special
            file, a symlink loop (only when following links), or has a non-UTF-8 name.
    """
    # Go's filepath.Clean, which Kubo applies: "link/" names the link, not its target.
    top = os.path.normpath(os.fspath(path))
    walk = _Walk(params, store, include_hidden, dereference_symlinks)
    st = walk.stat(top)
    if not stat.S_ISDIR(st.st_mode):
        return walk.leaf(top, st)
    stack = [_OpenDirectory(top, "", (st.st_dev, st.st_ino), walk.list_directory(top))]
    while True:
        current = stack[-1]
        if not current.pending:
            stack.pop()
            built = build_directory(current.children, cid_version=params.cid_version, store=store)
            if not stack:
                return built
            stack[-1].children.append((current.name, built))
            continue
        name = current.pending.pop()
        child = os.path.join(current.path, name)
        st = walk.stat(child)
        if not stat.S_ISDIR(st.st_mode):
            current.children.append((name, walk.leaf(child, st)))
            continue
        identity = (st.st_dev, st.st_ino)
        if any(d.identity == identity for d in stack):
            raise ImportPathError(
                "symbolic link loop: directory contains itself", path=child, code="SYMLINK-LOOP"
            )
        stack.append(_OpenDirectory(child, name, identity, walk.list_directory(child)))
