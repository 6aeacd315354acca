"""Every code wheelset prints, with where it comes from and what it means: one table.

A code is stable, upper case, words joined by ``-``. Check findings carry the code of
their check family (layout, schema, uniqueness, closure, trust, integrity); errors that
stop a command (a WheelsetError, printed as ``error: [path: ]CODE message``) carry family
``error``. A code means the same thing wherever it appears: ``FETCH`` is a source that
cannot be fetched, as an integrity finding and as `declare`'s error. The README's code
table is this table; a test keeps them, and the codes used in the source, in step.
Entry points: CODES, ERROR_FAMILY.
"""

from __future__ import annotations

__all__ = ["CODES", "ERROR_FAMILY"]

ERROR_FAMILY = "error"

# code -> (family, meaning)
CODES: dict[str, tuple[str, str]] = {
    # --- check findings ---------------------------------------------------------------
    "FILENAME": ("layout", "file name is not `<valid PEP 427 wheel stem>.toml`"),
    "LAYOUT": ("layout", "declaration is not at `<prefix>/<project>/<file>.toml`"),
    "PREFIX": ("layout", "prefix directory is not the project's prefix"),
    "PROJECT": ("layout", "project directory is not the canonical name from the file name"),
    "STRAY": ("layout", "a file that is not a declaration inside the prefix tree"),
    "IO": ("schema", "a file cannot be read or written"),
    "TOML": ("schema", "malformed TOML (or not UTF-8)"),
    "PLATFORMS": ("schema", "platforms.toml is missing or invalid"),
    "MISSING-KEY": ("schema", "a required key is absent"),
    "UNKNOWN-KEY": ("schema", "a key that the format does not define (typo?)"),
    "TYPE": ("schema", "a value has the wrong TOML type"),
    "SOURCE": ("schema", "source is not an http(s)/file URL ending in the wheel name, or index:"),
    "CID": ("schema", "content-id (or a CID given) is not a valid CID (declarations: CIDv0)"),
    "SPECIFIER": ("schema", "requires-python is not a valid specifier set"),
    "EXTRAS": ("schema", "extras are not normalised names (PEP 685, PEP 508) or repeat"),
    "REQUIREMENT": ("schema", "a dependency is not a valid PEP 508 requirement"),
    "VALUE": ("schema", "sha256 is not 64 lower-case hex digits, or size is negative"),
    "LICENSE": ("schema", "license is not a canonical SPDX expression"),
    "VERSIONS": ("uniqueness", "the project has more than one version declared"),
    "OVERLAP": ("uniqueness", "two wheels of the project can be installed on one system"),
    "MISSING": ("closure", "a dependency has no declared wheel for a platform"),
    "UNSATISFIED": ("closure", "the declared version of a dependency is outside its specifier"),
    "EXTRA": ("closure", "a dependency does not provide a requested extra"),
    "PYTHON": (
        "closure",
        "a dependency's wheel excludes the platform's Python (requires-python); as an error: "
        "no usable target interpreter (--python, a virtual environment)",
    ),
    "MARKER": ("closure", "a marker cannot be evaluated in a platform's environment"),
    "UNUSED": ("closure", "warning: the wheel installs on none of the supported platforms"),
    "NAME-CONFUSABLE": (
        "trust",
        "the project name is confusable with another project's or a most-used name",
    ),
    "LICENSE-UNKNOWN": ("trust", "no machine-readable licence recorded for the wheel"),
    "LICENSE-DISALLOWED": ("trust", "the wheel's licence is not allowed by policy.toml"),
    "POLICY": ("trust", "policy.toml is malformed"),
    "FETCH": ("integrity", "the source cannot be fetched (HTTP error, timeout, not on the index)"),
    "NOT-WHEEL": ("integrity", "the fetched file is not a wheel, or has no valid METADATA"),
    "CID-MISMATCH": ("integrity", "content-id differs from the CID of the fetched bytes"),
    "SHA256-MISMATCH": ("integrity", "sha256 differs from the fetched bytes"),
    "SIZE-MISMATCH": ("integrity", "size differs from the fetched bytes"),
    "RECORD": ("integrity", "the wheel's RECORD misses a file or a hash or size differs"),
    "UNSAFE-PATH": ("integrity", "a wheel member has an absolute path, '..' or a backslash"),
    "UNSAFE-LINK": ("integrity", "a wheel member is a symbolic link"),
    "ZIP-BOMB": ("integrity", "member count, total size or compression ratio over the limits"),
    "TAGS-MISMATCH": ("integrity", "the WHEEL file's tags differ from the file name's"),
    "METADATA-MISMATCH": (
        "integrity",
        "name, version, tags, requires-python, extras or dependencies differ from the wheel",
    ),
    # --- errors that stop a command -----------------------------------------------------
    "USAGE": (ERROR_FAMILY, "the command line asks for something impossible (exit code 2)"),
    "ERROR": (ERROR_FAMILY, "an error without a more precise code"),
    "GIT": (ERROR_FAMILY, "git cannot say what changed (not a work tree, unknown ref)"),
    "INDEX": (ERROR_FAMILY, "no package index is configured, or it is needed and missing"),
    "METADATA": (ERROR_FAMILY, "a wheel's METADATA cannot be extracted or disagrees with it"),
    "CACHE": (ERROR_FAMILY, "the cache directory cannot be used"),
    "NAME": (ERROR_FAMILY, "a file or directory name IPFS cannot store (not UTF-8, has '/')"),
    "NOT-FOUND": (ERROR_FAMILY, "a path does not exist (`cid`: on disk; a ROOT: below it)"),
    "PATH": (ERROR_FAMILY, "a path below a root cannot be read and verified from any source"),
    "OLD-ROOT": (ERROR_FAMILY, "a version 1 root, which this wheelset no longer reads"),
    "UNREADABLE": (ERROR_FAMILY, "`cid`: the path cannot be read"),
    "SPECIAL-FILE": (ERROR_FAMILY, "`cid`: a FIFO, socket or device, which IPFS cannot store"),
    "SYMLINK-LOOP": (ERROR_FAMILY, "`cid`: a symbolic link loop (with --dereference-symlinks)"),
    "VARINT": (ERROR_FAMILY, "a malformed varint in IPFS data"),
    "DAG-PB": (ERROR_FAMILY, "a malformed dag-pb or UnixFS block"),
    "HAMT": (ERROR_FAMILY, "a sharded directory cannot be built (hash collision)"),
    "BLOCK": (ERROR_FAMILY, "a block is not in the block store"),
    "CAR": (ERROR_FAMILY, "a malformed CAR file"),
    "RPC": (ERROR_FAMILY, "the IPFS node's RPC API failed or answered something unexpected"),
    "PINNING": (ERROR_FAMILY, "the pinning service refused or failed a request"),
    "CLUSTER": (ERROR_FAMILY, "the IPFS Cluster refused a pin, or a peer failed to pin"),
    "MIRROR": (ERROR_FAMILY, "`mirror`: a root's blocks are unusable, or wheels failed"),
    "PIN-RECORD": (ERROR_FAMILY, "the record of wheelset's pins cannot be read or written"),
    "RESOLVE": (ERROR_FAMILY, "an IPNS name or DNSLink domain cannot be resolved"),
    "BUILD": (ERROR_FAMILY, "the collection cannot be built into a root"),
    "OUT": (ERROR_FAMILY, "a build directory cannot be written or read"),
    "PUBLISH": (ERROR_FAMILY, "the node disagrees with the build, or wheels failed to publish"),
    "ROOT": (ERROR_FAMILY, "ROOT is not a CID, /ipfs/ path or build directory, or unreadable"),
    "MISMATCH": (ERROR_FAMILY, "content served for a CID is not that content"),
    "DIFF": (ERROR_FAMILY, "`diff`: a ROOT cannot be read or compared"),
    "DECLARE": (ERROR_FAMILY, "`declare`: a source cannot be declared"),
    "NO-RELEASE": (ERROR_FAMILY, "`bump`: no release of the project covers its platforms"),
    "PRIVATE": (
        ERROR_FAMILY,
        "`bump`: the project comes from a private URL source; the index would replace it",
    ),
    "NO-WHEEL": (ERROR_FAMILY, "`bump`: the new release leaves a platform without a wheel"),
    "UNKNOWN": (ERROR_FAMILY, "a named project is not in the collection or root"),
    "PLATFORM": (ERROR_FAMILY, "no such platform, or no wheel of a project for it"),
    "CONFLICT": (ERROR_FAMILY, "two requirements want versions the root does not both offer"),
    "DEPENDENCY": (ERROR_FAMILY, "a dependency of a requested project cannot be met"),
    "VERIFY": (ERROR_FAMILY, "`install`: a gateway served bytes that do not match the CID"),
    "ENVIRONMENT": (ERROR_FAMILY, "`install`: the target environment cannot be written"),
    "BREAKS": (
        ERROR_FAMILY,
        "`install`: the change would break installed distributions (--force installs anyway)",
    ),
    "REQUIREMENTS": (ERROR_FAMILY, "a requirements file cannot be read or has an unusable line"),
    "WHEEL": (ERROR_FAMILY, "`install`: a fetched wheel is not valid; nothing was installed"),
    "EXPORT": (ERROR_FAMILY, "`export`: a wheel cannot be pinned (no sha256)"),
    "SERVE": (ERROR_FAMILY, "`serve`: cannot listen, or an unusable config, htpasswd or TLS file"),
    "FORK": (ERROR_FAMILY, "`init`/`sync`: the fork's directory or upstream record is unusable"),
    "PRUNE": (ERROR_FAMILY, "`prune`: unknown project or platform, or the kept set breaks"),
}
