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

# family -> code -> meaning; families in the order check runs them, then the errors
_BY_FAMILY: dict[str, dict[str, str]] = {
    "layout": {
        "FILENAME": "file name is not `<valid PEP 427 wheel stem>.toml`",
        "LAYOUT": "declaration is not at `<prefix>/<project>/<file>.toml`",
        "PREFIX": "prefix directory is not the project's prefix",
        "PROJECT": "project directory is not the canonical name from the file name",
        "STRAY": "a file that is not a declaration inside the prefix tree",
    },
    "schema": {
        "IO": "a file cannot be read or written",
        "TOML": "malformed TOML, not UTF-8, or UTF-8 with a byte-order mark",
        "PLATFORMS": "platforms.toml is missing or invalid",
        "MISSING-KEY": "a required key is absent",
        "UNKNOWN-KEY": "a key that the format does not define (typo?)",
        "TYPE": "a value has the wrong TOML type",
        "SOURCE": "source is not an http(s)/file URL ending in the wheel name, or index:",
        "CID": "content-id (or a CID given) is not a valid CID (declarations: CIDv0)",
        "SPECIFIER": "requires-python is not a valid specifier set",
        "EXTRAS": "extras are not normalised names (PEP 685, PEP 508) or repeat",
        "REQUIREMENT": "a dependency is not a valid PEP 508 requirement",
        "VALUE": "sha256 is not 64 lower-case hex digits, or size is negative",
        "LICENSE": "license is not a canonical SPDX expression",
    },
    "uniqueness": {
        "VERSIONS": "the project has more than one version declared",
        "OVERLAP": "two wheels of the project can be installed on one system",
    },
    "closure": {
        "MISSING": "a dependency has no declared wheel for a platform",
        "UNSATISFIED": "the declared version of a dependency is outside its specifier",
        "EXTRA": "a dependency does not provide a requested extra",
        "PYTHON": (
            "a dependency's wheel excludes the platform's Python (requires-python); as an error: "
            "no usable target interpreter (--python, a virtual environment)"
        ),
        "MARKER": "a marker cannot be evaluated in a platform's environment",
        "UNUSED": "warning: the wheel installs on none of the supported platforms",
    },
    "trust": {
        "NAME-CONFUSABLE": (
            "the project name is confusable with another project's or a most-used name"
        ),
        "LICENSE-UNKNOWN": "no machine-readable licence recorded for the wheel",
        "LICENSE-DISALLOWED": "the wheel's licence is not allowed by policy.toml",
        "POLICY": "policy.toml is malformed",
    },
    "integrity": {
        "FETCH": "the source cannot be fetched (HTTP error, timeout, not on the index)",
        "NOT-WHEEL": "the fetched file is not a wheel, or has no valid METADATA",
        "CID-MISMATCH": "content-id differs from the CID of the fetched bytes",
        "SHA256-MISMATCH": "sha256 differs from the fetched bytes",
        "SIZE-MISMATCH": "size differs from the fetched bytes",
        "RECORD": "the wheel's RECORD misses a file or a hash or size differs",
        "UNSAFE-PATH": "a wheel member has an absolute path, '..' or a backslash",
        "UNSAFE-LINK": "a wheel member is a symbolic link",
        "ZIP-BOMB": "member count, total size or compression ratio over the limits",
        "TAGS-MISMATCH": "the WHEEL file's tags differ from the file name's",
        "METADATA-MISMATCH": (
            "name, version, tags, requires-python, extras or dependencies differ from the wheel"
        ),
    },
    # errors that stop a command
    ERROR_FAMILY: {
        "USAGE": "the command line asks for something impossible (exit code 2)",
        "ERROR": "an error without a more precise code",
        "INTERNAL": "a bug in wheelset (the exception named; --debug shows the traceback)",
        "GIT": "git cannot say what changed (not a work tree, unknown ref)",
        "INDEX": "no package index is configured, or it is needed and missing",
        "METADATA": "a wheel's METADATA cannot be extracted or disagrees with it",
        "CACHE": "the cache directory cannot be used",
        "NAME": "a file or directory name IPFS cannot store (not UTF-8, has '/')",
        "NOT-FOUND": "a path does not exist (`cid`: on disk; a ROOT: below it)",
        "PATH": "a path below a root cannot be read and verified from any source",
        "OLD-ROOT": "a version 1 root, which this wheelset no longer reads",
        "UNREADABLE": "`cid`: the path cannot be read",
        "SPECIAL-FILE": "`cid`: a FIFO, socket or device, which IPFS cannot store",
        "SYMLINK-LOOP": "`cid`: a symbolic link loop (with --dereference-symlinks)",
        "VARINT": "a malformed varint in IPFS data",
        "DAG-PB": "a malformed dag-pb or UnixFS block",
        "HAMT": "a sharded directory cannot be built (hash collision)",
        "BLOCK": "a block is not in the block store",
        "CAR": "a malformed CAR file",
        "RPC": "the IPFS node's RPC API failed or answered something unexpected",
        "PINNING": "the pinning service refused or failed a request",
        "CLUSTER": "the IPFS Cluster refused a pin, or a peer failed to pin",
        "MIRROR": "`mirror`: a root's blocks are unusable, or wheels failed",
        "PIN-RECORD": "the record of wheelset's pins cannot be read or written",
        "RESOLVE": "an IPNS name or DNSLink domain cannot be resolved",
        "BUILD": "the collection cannot be built into a root",
        "OUT": "a build directory cannot be written or read",
        "PUBLISH": "the node disagrees with the build, or wheels failed to publish",
        "ROOT": "ROOT is not a CID, /ipfs/ path or build directory, or unreadable",
        "MISMATCH": "content served for a CID is not that content",
        "DIFF": "`diff`: a ROOT cannot be read or compared",
        "DECLARE": "`declare`: a source cannot be declared",
        "NO-RELEASE": "`bump`: no release of the project covers its platforms",
        "PRIVATE": (
            "`bump`: the project comes from a private URL source; the index would replace it"
        ),
        "NO-WHEEL": "`bump`: the new release leaves a platform without a wheel",
        "UNKNOWN": "a named project is not in the collection or root",
        "PLATFORM": "no such platform, or no wheel of a project for it",
        "CONFLICT": "two requirements want versions the root does not both offer",
        "DEPENDENCY": "a dependency of a requested project cannot be met",
        "VERIFY": "`install`: a gateway's or a build directory's bytes are not the CID's",
        "ENVIRONMENT": "`install`: the target environment cannot be written",
        "BREAKS": (
            "`install`: the change would break installed distributions (--force installs anyway)"
        ),
        "REQUIREMENTS": "a requirements file cannot be read or has an unusable line",
        "WHEEL": "`install`: a fetched wheel is not valid; nothing was installed",
        "EXPORT": "`export`: a wheel cannot be pinned (no sha256)",
        "SERVE": "`serve`: cannot listen, or an unusable config, htpasswd or TLS file",
        "FORK": "`init`/`sync`: the fork's directory or upstream record is unusable",
        "PRUNE": "`prune`: unknown project or platform, or the kept set breaks",
    },
}

# code -> (family, meaning)
CODES: dict[str, tuple[str, str]] = {
    code: (family, meaning)
    for family, meanings in _BY_FAMILY.items()
    for code, meaning in meanings.items()
}
