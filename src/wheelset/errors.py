"""The root of wheelset's exception tree.

Every error a user can cause is a WheelsetError: it knows its exit code and how to print
itself as one line (``path: CODE message``). Library code raises these; only the CLI
prints them. Foreign exceptions are re-raised as ours at module boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence

TYPE_CHECKING = False  # typing and pathlib are not loaded on the no-op and warm install paths
if TYPE_CHECKING:
    from pathlib import Path

    from wheelset.ipfs.gateway import GatewayFailure

__all__ = [
    "BlockNotFound",
    "BuildError",
    "BumpError",
    "CacheError",
    "ClusterError",
    "CollectionError",
    "ContentMismatch",
    "DeclarationError",
    "DeclareError",
    "DiffError",
    "ExportError",
    "FetchCancelled",
    "FetchError",
    "ForkError",
    "ImportPathError",
    "IndexLookupError",
    "InstallError",
    "InterpreterError",
    "InvalidCAR",
    "InvalidCID",
    "InvalidEntryName",
    "InvalidLicensePolicy",
    "InvalidNode",
    "InvalidRoot",
    "InvalidVarint",
    "JournalError",
    "MetadataError",
    "MirrorError",
    "NoSuchPath",
    "NoWheelForPlatform",
    "NotAWheelError",
    "OutdatedError",
    "PathError",
    "PinRecordError",
    "PinningServiceError",
    "PublishError",
    "RequirementsFileError",
    "ResolutionError",
    "RootError",
    "RpcError",
    "ServeError",
    "UnknownExtra",
    "UnknownPlatform",
    "UnknownProject",
    "UnpackError",
    "UnsatisfiedDependency",
    "UsageError",
    "VersionConflict",
    "WheelsetError",
    "mask_credentials",
]

# Everything between "scheme://" and the last "@" before the path: a password holding a raw
# "@" is hidden whole, not cut at its first "@".
_USERINFO = r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s]*@"


def mask_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it replaced by ``***@``.

    >>> mask_credentials("GET https://me:p@ss@host.invalid/simple/ failed")
    'GET https://***@host.invalid/simple/ failed'
    """
    if "@" not in text:
        return text  # nothing to hide (and re, with enum, is not loaded on the warm path)
    import re

    return re.sub(_USERINFO, r"\1***@", text)


class WheelsetError(Exception):
    """An error with a stable code (wheelset.codes), an optional location, and exit code 1.

    A subclass names its code once, in its class statement (``class CacheError(WheelsetError,
    code="CACHE")``); ``code=`` at the raise site overrides it for that error.
    """

    exit_code = 1
    code = "ERROR"

    def __init_subclass__(cls, *, code: str | None = None, **kwargs: object):
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, path: Path | str | None = None, code: str | None = None):
        super().__init__(message)
        self.path = path
        if code is not None:
            self.code = code

    def one_line(self) -> str:
        """The error as a single line, ``path: CODE message`` (newlines folded, any
        ``user:password@`` in URLs hidden)."""
        text = mask_credentials(" ".join(str(self).split("\n")))
        return (
            f"{self.path}: {self.code} {text}" if self.path is not None else f"{self.code} {text}"
        )


class UsageError(WheelsetError, code="USAGE"):
    """The command line asks for something that cannot be meant (exit code 2, as click's)."""

    exit_code = 2


# --- The IPFS core: CIDs, blocks, CARs, nodes, gateways, clusters, pinning services --------
class BlockNotFound(WheelsetError, KeyError):
    """The store does not hold the requested block."""


class InvalidCAR(WheelsetError, ValueError, code="CAR"):
    """Bytes are not a well-formed CARv1 stream whose blocks match their CIDs."""


class InvalidCID(WheelsetError, ValueError, code="CID"):
    """Text or bytes are not a CIDv0/CIDv1 (see the multiformats CID spec)."""


class ClusterError(WheelsetError, code="CLUSTER"):
    """The cluster refused a pin, a peer failed to pin, or it did not finish in time."""


class InvalidNode(WheelsetError, ValueError, code="DAG-PB"):
    """Bytes are not a well-formed dag-pb node or UnixFS data message."""


class InvalidEntryName(WheelsetError, ValueError, code="NAME"):
    """A directory entry name that UnixFS cannot hold (empty, '.', '..', contains '/')."""


class ImportPathError(WheelsetError):
    """A path `ipfs add -r` would refuse: missing, unreadable, special file, loop, bad name.

    ``code`` is one of NOT-FOUND, UNREADABLE, SPECIAL-FILE, SYMLINK-LOOP, NAME."""


class FetchError(WheelsetError, code="FETCH"):
    """Bytes could not be fetched (and verified): a source, an index page, or content
    from every gateway given. ``failures`` says, per gateway, why it did not deliver."""

    def __init__(
        self,
        message: str,
        failures: Sequence[GatewayFailure] = (),
        *,
        path: Path | str | None = None,
        code: str | None = None,
    ):
        super().__init__(message, path=path, code=code)
        self.failures = tuple(failures)


class FetchCancelled(FetchError):
    """The caller cancelled the fetch (another fetch of the same batch failed)."""


class PinningServiceError(WheelsetError, code="PINNING"):
    """The pinning service refused a request, answered nonsense, or did not finish in time."""


class PathError(WheelsetError, code="PATH"):
    """A path could not be read and verified from any source (each source's failure named)."""


class NoSuchPath(PathError, code="NOT-FOUND"):
    """A verified directory on the path has no entry of that name."""


class RpcError(WheelsetError, code="RPC"):
    """The node could not be reached, or answered a call with an error."""


class InvalidVarint(WheelsetError, ValueError):
    """Bytes are not a minimal unsigned varint of at most 9 bytes."""


# --- The model: declarations, platforms, the collection ------------------------------------
class CollectionError(WheelsetError):
    """The collection directory itself is unusable (missing, not a directory, no Git)."""


class DeclarationError(WheelsetError, ValueError):
    """A declaration file is malformed, misplaced or inconsistent (docs/declarations.md)."""


class InvalidLicensePolicy(WheelsetError, ValueError):
    """The collection's licence policy is malformed."""


class UnknownPlatform(WheelsetError, LookupError, code="PLATFORM"):
    """A platform id that is not one of a platforms table's (python-versions × systems)."""


# --- Fetching wheels, index pages and METADATA; the cache ----------------------------------
class NotAWheelError(WheelsetError, code="NOT-WHEEL"):
    """The bytes are not a wheel: not a zip, no METADATA, or METADATA/RECORD disagree."""


class CacheError(WheelsetError, code="CACHE"):
    """The cache directory cannot be read or written (permissions, full disk)."""


class IndexLookupError(FetchError):
    """The index has no such project or file, or its page cannot be understood."""


class MetadataError(WheelsetError, code="METADATA"):
    """A wheel has no usable METADATA, or it disagrees with the declaration."""


class ContentMismatch(FetchError):
    """Fetched bytes do not match the declaration's content-id, size or sha256."""


# --- Building and publishing a root --------------------------------------------------------
class PublishError(WheelsetError, code="PUBLISH"):
    """The node disagrees with the build (another root), or refused to pin it."""


class BuildError(WheelsetError):
    """The declarations cannot be turned into a root (e.g. a declaration lacks `size`)."""


# --- Reading roots; resolving, installing, exporting, diffing ------------------------------
class DiffError(WheelsetError, code="DIFF"):
    """A ROOT that cannot be read or authenticated, or a platforms table diff cannot use."""


class ExportError(WheelsetError, code="EXPORT"):
    """The closure cannot be exported (a wheel without sha256 cannot be hash-pinned)."""


class ServeError(WheelsetError, code="SERVE"):
    """`serve` cannot start: the address cannot be bound, or a config, htpasswd,
    certificate or key file is unusable."""


class InstallError(WheelsetError):
    """A wheel could not be fetched, verified or installed (the environment is unchanged)."""


class InterpreterError(WheelsetError, code="PYTHON"):
    """The interpreter given with --python cannot be run or described."""


class JournalError(WheelsetError, code="ENVIRONMENT"):
    """The environment cannot be changed or brought back (permissions, a broken journal)."""


class RequirementsFileError(WheelsetError, code="REQUIREMENTS"):
    """A requirements file cannot be read or has a line wheelset cannot act on."""


class ResolutionError(WheelsetError):
    """The requested projects cannot be installed from this set on this target (the code
    MARKER: a marker cannot be evaluated in the target's environment)."""


class UnknownProject(ResolutionError, code="UNKNOWN"):
    """A requested (or depended-on) project has no wheel at all in the set."""


class NoWheelForPlatform(ResolutionError, code="PLATFORM"):
    """The project exists, but none of its wheels fits the target's tags or Python."""


class VersionConflict(ResolutionError, code="CONFLICT"):
    """A user specifier (``NAME>=X``) excludes the single available version."""


class UnsatisfiedDependency(ResolutionError, code="DEPENDENCY"):
    """A wheel's dependency specifier excludes the single available version."""


class UnknownExtra(ResolutionError, code="EXTRA"):
    """The user asked for an extra the project does not provide."""


class RootError(WheelsetError, code="ROOT"):
    """A root cannot be opened or read (unreadable, of an old format, or unverifiable)."""


class InvalidRoot(RootError):
    """ROOT is none of the accepted forms."""


class UnpackError(WheelsetError, code="WHEEL"):
    """A wheel's archive does not match its RECORD, or has a hostile member."""


# --- Maintaining a collection: declare, outdated, bump, fork -------------------------------
class BumpError(WheelsetError):
    """A bump cannot be planned or written (project not declared, no usable release…)."""


class DeclareError(WheelsetError, code="DECLARE"):
    """A source cannot be declared (not a wheel, no such release, no wheel fits…)."""


class ForkError(WheelsetError, code="FORK"):
    """A fork cannot be created or synchronised (non-empty target, missing upstream record…)."""


class OutdatedError(WheelsetError):
    """The collection cannot be compared with the index (e.g. platforms.toml is broken)."""


# --- Keeping roots served: mirrors and pin records -----------------------------------------
class MirrorError(WheelsetError, code="MIRROR"):
    """The root's own blocks could not be read, or the node would not pin the root."""


class PinRecordError(WheelsetError, code="PIN-RECORD"):
    """The pin record cannot be read or written."""
