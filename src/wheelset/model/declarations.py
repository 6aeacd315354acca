"""Wheel declarations: the TOML model, its validation, and the path + prefix rule.

One declaration = one wheel, at ``<prefix>/<project>/<wheel filename without .whl>.toml``
(spec: docs/declarations.md). Parsing validates every field and returns an immutable
Declaration whose fields are already parsed; validate_declaration() reports every problem
of a file at once, each with a stable code (wheelset.codes). Dumping writes keys in a
fixed order so files diff cleanly. No network here. Entry points: Declaration,
parse_declaration(), validate_declaration(), format_declaration(), load_declaration(),
dump_declaration(), prefix_of(), relpath_for(), parse_wheel_name().
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from wheelset.errors import DeclarationError
from wheelset.fsutil import atomic_write_text
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.model import canonical_toml

__all__ = [
    "INDEX_SOURCE_PREFIX",
    "KEY_ORDER",
    "MAX_FILE_SIZE",
    "Declaration",
    "DeclarationError",
    "DeclarationRecord",
    "dump_declaration",
    "format_declaration",
    "load_declaration",
    "parse_declaration",
    "parse_requirement",
    "parse_wheel_name",
    "prefix_of",
    "record_filename",
    "relpath_for",
    "validate_declaration",
    "written_record",
]

# The order keys are written in; also the set of keys allowed.
KEY_ORDER = (
    "source",
    "content-id",
    "sha256",
    "size",
    "requires-python",
    "license",
    "extras",
    "dependencies",
)
_KNOWN = frozenset(KEY_ORDER)
_T = TypeVar("_T")
_REQUIRED = ("source", "content-id", "extras", "dependencies")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Wheel names never need more than these characters; anything else (separators, "..",
# control characters) could escape the collection directory.
_SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+!-]*\.whl")
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._]*[A-Za-z0-9])?")
_URL = re.compile(r"(https?|file)://\S+")
INDEX_SOURCE_PREFIX = "index:"
# The largest size a wheel or METADATA file may declare: 2**53 - 1 bytes (8 PiB) is beyond any
# real file and exact in every JSON reader; a larger number read from a hostile manifest or
# declaration must not reach code whose work grows with it.
MAX_FILE_SIZE = 2**53 - 1


def prefix_of(name: str) -> str:
    """The two-hex-digit directory prefix of a project (of its canonical name).

    >>> prefix_of("numpy"), prefix_of("requests"), prefix_of("Tomli")
    ('39', '7c', '25')
    """
    return f"{sum(map(ord, canonicalize_name(name))) & 0xFF:02x}"


def parse_wheel_name(
    filename: str, path: PurePosixPath | Path | str | None = None
) -> tuple[NormalizedName, Version, BuildTag, frozenset[Tag]]:
    """Name, version, build tag and tags of a wheel file name (PEP 427), path-safe.

    Raises:
        DeclarationError: not a valid wheel file name (code FILENAME).
    """
    if _SAFE_FILENAME.fullmatch(filename):
        # name-version[-build] and the three tag components are parsed (by packaging) and
        # cached separately: a release's wheels share the first, many wheels the second.
        parts = filename[: -len(".whl")].rsplit("-", 3)
        if len(parts) == 4:
            head = _parse_head(parts[0])
            tags = _parse_tags(f"{parts[1]}-{parts[2]}-{parts[3]}")
            if head is not None and tags is not None:
                return (*head, tags)
    raise _filename_error(filename, filename if path is None else path)


@functools.lru_cache(maxsize=65536)
def _parse_head(head: str) -> tuple[NormalizedName, Version, BuildTag] | None:
    # packaging's rules for the name-version[-build] part (its parse_wheel_filename would
    # also parse a tag set each time): a stricter name, a PEP 440 version, a build number.
    parts = head.split("-")
    if len(parts) not in (2, 3) or "__" in parts[0] or not _PROJECT_NAME.fullmatch(parts[0]):
        return None
    # One Version object per distinct version string: large collections repeat them.
    version = _VERSIONS.get(parts[1])
    if version is None:
        try:
            version = _VERSIONS.setdefault(parts[1], Version(parts[1]))
        except InvalidVersion:
            return None
    build: BuildTag = ()
    if len(parts) == 3:
        number = _BUILD_TAG.fullmatch(parts[2])
        if number is None:
            return None
        build = (int(number[1]), number[2])
    return canonicalize_name(parts[0]), version, build


_BUILD_TAG = re.compile(r"([0-9]+)(.*)", re.DOTALL)
_VERSIONS: dict[str, Version] = {}


@functools.lru_cache(maxsize=4096)
def _parse_tags(text: str) -> frozenset[Tag] | None:
    try:
        return parse_wheel_filename(f"x-0-{text}.whl")[3]
    except InvalidWheelFilename:
        return None


def _filename_error(filename: str, path: PurePosixPath | Path | str) -> DeclarationError:
    """The precise reason a wheel file name is invalid."""
    if _SAFE_FILENAME.fullmatch(filename):
        try:
            parse_wheel_filename(filename)
        except InvalidWheelFilename as e:
            return DeclarationError(f"invalid wheel file name: {e}", path=path, code="FILENAME")
        return DeclarationError(
            f"invalid project name in wheel file name {filename!r}", path=path, code="FILENAME"
        )
    return DeclarationError(f"invalid wheel file name {filename!r}", path=path, code="FILENAME")


def relpath_for(wheel_filename: str) -> PurePosixPath:
    """Where a wheel's declaration lives, relative to the collection directory.

    >>> relpath_for("tomli-2.0.1-py3-none-any.whl")
    PurePosixPath('25/tomli/tomli-2.0.1-py3-none-any.toml')

    Raises:
        DeclarationError: the file name is not a valid wheel name (code FILENAME).
    """
    name = parse_wheel_name(wheel_filename)[0]
    stem = wheel_filename[: -len(".whl")]
    return PurePosixPath(prefix_of(name), name, f"{stem}.toml")


# The shape of almost every dependency: name[extras] specifiers; marker, without a URL or
# parentheses. The name is the run of name characters it starts with (no other split of
# the text fits this shape); the rest (extras, specifiers, marker) is parsed by packaging
# once per distinct text — a collection repeats the rest constantly, the name rarely;
# anything else is parsed whole. The marker runs to the last non-space character (found
# by a greedy match: a lazy one would try to end the text at every character). Like
# packaging, only spaces and tabs separate.
_NAME_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SIMPLE_REST = re.compile(
    r"[ \t]*(?:\[([A-Za-z0-9._, \t-]*)\])?[ \t]*"
    r"((?:(?:===|~=|==|!=|<=|>=|<|>)[ \t]*[A-Za-z0-9.*+!_-]+[ \t]*,[ \t]*)*"
    r"(?:(?:===|~=|==|!=|<=|>=|<|>)[ \t]*[A-Za-z0-9.*+!_-]+)?)[ \t]*(?:;[ \t]*(\S(?:.*\S)?))?[ \t]*"
)
_NO_EXTRAS: frozenset[str] = frozenset()  # shared: requirements are read-only
_EXTRA_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")  # PEP 508


@functools.lru_cache(maxsize=65536)
def parse_requirement(text: str) -> Requirement:
    """A PEP 508 requirement, parsed once per distinct string (treat it as read-only: its
    specifier set and marker are shared with other requirements of the same texts).

    Raises:
        InvalidRequirement: from packaging, when ``text`` is not PEP 508.
    """
    m = _NAME_RUN.match(text)
    if m is not None:
        name = m.group()
        rest = _parse_rest(text[m.end() :]) if name[-1] not in "._-" else None
        if rest is not None:
            extras, specifier, marker = rest
            requirement = Requirement.__new__(Requirement)
            requirement.name = name
            requirement.url = None
            requirement.extras = set(extras) if extras else _NO_EXTRAS  # type: ignore[assignment]
            requirement.specifier = specifier
            requirement.marker = marker
            return requirement
    return Requirement(text)


@functools.lru_cache(maxsize=65536)
def _parse_rest(text: str) -> tuple[tuple[str, ...], SpecifierSet, Marker | None] | None:
    """A requirement's extras, specifiers and marker, from the text after its name; None
    when it does not have the simple shape (or packaging rejects a part)."""
    m = _SIMPLE_REST.fullmatch(text)
    if m is None:
        return None
    extras_text, specifier_text, marker_text = m.groups()
    extras = tuple(e.strip() for e in extras_text.split(",")) if extras_text else ()
    if not all(_EXTRA_NAME.fullmatch(e) for e in extras):
        return None
    try:
        specifier = _parse_specifier(specifier_text)
        marker = _parse_marker(marker_text) if marker_text else None
    except (InvalidSpecifier, InvalidMarker):
        return None  # packaging says why, parsing the whole text
    return extras, specifier, marker


# Specifier and marker texts repeat across a collection, but a large one has tens of
# thousands of distinct ones (versions in specifiers): a small cache would thrash.
_TEXTS_CACHED = 1 << 17


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _parse_marker(text: str) -> Marker:
    return Marker(text)


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _parse_specifier(text: str) -> SpecifierSet:
    return SpecifierSet(text)


# str() of the requires-python specifier sets already seen, by id(): declarations share a
# few (the parser's cache), and str() of one sorts and joins its parts each time. Each
# entry holds its set, so an id is never reused while its entry lives. Sets made outside
# the parser's cache (a long-lived process declaring from index pages) would each add one:
# the table starts again when it is as large as that cache.
_SPECIFIER_TEXTS: dict[int, tuple[SpecifierSet, str]] = {}


def _specifier_text(specifier: SpecifierSet) -> str:
    known = _SPECIFIER_TEXTS.get(id(specifier))
    if known is None:
        if len(_SPECIFIER_TEXTS) >= _TEXTS_CACHED:
            _SPECIFIER_TEXTS.clear()
        known = _SPECIFIER_TEXTS[id(specifier)] = (specifier, str(specifier))
    return known[1]


# Declaration.to_record(): path, name, build tag, source, CID (version, codec, digest, hash
# code), extras, dependencies, requires-python text, sha256, size, license.
DeclarationRecord = tuple[
    str,
    str,
    tuple[()] | tuple[int, str],
    str,
    tuple[int, int, bytes, int],
    tuple[str, ...],
    tuple[str, ...],
    str | None,
    str | None,
    int | None,
    str | None,
]


def record_filename(record: DeclarationRecord) -> str:
    """The wheel file name of a declaration record (its path's file name, as .whl)."""
    rel = record[0]
    return rel[rel.rfind("/") + 1 : -len(".toml")] + ".whl"


# The whole of a declaration as format_declaration() writes it (keys in KEY_ORDER, strings
# with no escapes but \" and \\, arrays one element per line), with every field already in
# the shape validation accepts: a CIDv0, 64 lower-case hex digits, a size of at most 16
# digits, normalised extras. Almost every file of a collection matches it.
_WRITTEN = re.compile(
    rf'source = "({canonical_toml.CHARS})"\n'
    r'content-id = "(Qm[1-9A-HJ-NP-Za-km-z]{44})"\n'
    r'(?:sha256 = "([0-9a-f]{64})"\n)?'
    r"(?:size = (0|[1-9][0-9]{0,15})\n)?"
    rf'(?:requires-python = "({canonical_toml.CHARS})"\n)?'
    rf'(?:license = "({canonical_toml.CHARS})"\n)?'
    r'extras = \[(?:\]|\n((?:    "[a-z0-9]+(?:-[a-z0-9]+)*",\n)*)\])\n'
    rf'dependencies = \[(?:\]|\n((?:    "{canonical_toml.CHARS}",\n)*)\])\n'
)
_ITEM_START, _ITEM_END, _BETWEEN_ITEMS = len('    "'), len('",\n'), '",\n    "'


def _items(text: str) -> tuple[str, ...]:
    """The strings of an array's lines as _WRITTEN matched them (``    "…",\n`` each),
    unescaped. No string holds a line break, so the first quote, comma and line break
    after a string's start is its end, escaped quotes or not: one split, one unescape."""
    return tuple(canonical_toml.unescape(text[_ITEM_START:-_ITEM_END]).split(_BETWEEN_ITEMS))


def written_record(text: str, rel: str) -> DeclarationRecord | None:
    """The record (see Declaration.to_record()) of the declaration file at ``rel`` (a
    normalised relative path) whose text is ``text``, when the file is in the form
    format_declaration() writes and valid; None otherwise — then the general path
    (tomllib or canonical_toml, validate_declaration()) reads it and says what is wrong.

    One match and a few checks instead of a table and phase by phase validation: what
    `check` spends most of its loading time on. Accepts exactly what the general path
    accepts as the same declaration (the tests compare the two).
    """
    m = _WRITTEN.fullmatch(text)
    name_start = rel.rfind("/") + 1
    if m is None or not rel.endswith(".toml") or len(rel) - name_start <= len(".toml"):
        return None
    filename = rel[name_start : -len(".toml")] + ".whl"
    source, cid_text, sha256, size_text, python_text, license_text, extras_text, deps_text = (
        m.groups()
    )
    try:
        name, _, build, _ = parse_wheel_name(filename)
        content_id = parse_cid(cid_text)
        python = None
        if python_text is not None:
            python = _specifier_text(_parse_specifier(canonical_toml.unescape(python_text)))
        dependencies = ()
        if deps_text:
            dependencies = _items(deps_text)
            for dependency in dependencies:
                parse_requirement(dependency)
    except (DeclarationError, InvalidCID, InvalidSpecifier, InvalidRequirement):
        return None
    source = canonical_toml.unescape(source)
    if source != INDEX_SOURCE_PREFIX + filename and _source_problem(source, filename):
        return None
    if content_id.version != 0:
        return None
    extras: tuple[str, ...] = ()
    if extras_text:
        extras = _items(extras_text)
        if len(set(extras)) != len(extras):
            return None
    size = None
    if size_text is not None:
        size = int(size_text)
        if size > MAX_FILE_SIZE:
            return None
    if license_text is not None:
        license_text = canonical_toml.unescape(license_text)
        if not _canonical_license(license_text):
            return None
    cid = (content_id.version, content_id.codec, content_id.digest, content_id.hash_code)
    return (rel, name, build, source, cid, extras, dependencies, python, sha256, size, license_text)


@functools.lru_cache(maxsize=4096)
def _canonical_license(text: str) -> bool:
    # packaging.licenses (its SPDX tables) and tomli_w are imported where they are used:
    # install reads declarations without either.
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        return canonicalize_license_expression(text) == text
    except InvalidLicenseExpression:
        return False


@dataclass(frozen=True, slots=True)
class Declaration:
    """One declared wheel. ``path`` is relative to the collection directory (posix).

    ``requirements`` are ``dependencies`` parsed, in the same order, on demand (read-only
    objects; the closure check parses each distinct text once).
    """

    path: PurePosixPath
    filename: str
    name: NormalizedName
    version: Version
    build: BuildTag
    tags: frozenset[Tag]
    source: str
    content_id: CID
    extras: tuple[NormalizedName, ...]
    dependencies: tuple[str, ...]
    requires_python: SpecifierSet | None = None
    sha256: str | None = None
    size: int | None = None
    license: str | None = None

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        # Not kept: a large collection's requirements are mostly distinct texts, which
        # would cost memory per declaration and parsing when a worker's records are
        # rebuilt, and only the closure code reads them (through its own cache).
        return tuple(map(parse_requirement, self.dependencies))

    @property
    def is_index_source(self) -> bool:
        return self.source.startswith(INDEX_SOURCE_PREFIX)

    def to_record(self) -> DeclarationRecord:
        """The declaration as plain values (marshal-able), what from_record() takes back."""
        cid, python = self.content_id, self.requires_python
        return (
            str(self.path),
            self.name,
            self.build,
            self.source,
            (cid.version, cid.codec, cid.digest, cid.hash_code),
            self.extras,
            self.dependencies,
            None if python is None else _specifier_text(python),
            self.sha256,
            self.size,
            self.license,
        )

    @classmethod
    def from_record(
        cls, record: DeclarationRecord, path: PurePosixPath | None = None
    ) -> Declaration:
        """The declaration a valid declaration's to_record() gave (not validated again);
        ``path``: the record's path, when the caller has it as an object already.

        The version, tags and specifiers come from the same per-text caches
        as when parsing, so declarations loaded either way share those objects.
        """
        rel, name, build, source, cid, extras, dependencies, python, sha256, size, license_ = record
        if path is None:
            path = PurePosixPath(rel)
        stem = rel[rel.rfind("/") + 1 : -len(".toml")]
        head = stem.rsplit("-", 3)[0]
        version_text = head.split("-", 2)[1]
        version = _VERSIONS.get(version_text)
        if version is None:
            version = _VERSIONS.setdefault(version_text, Version(version_text))
        # Positional: a build makes one per declaration, and fourteen keywords cost it
        # about 4 µs more (nearly doubling this function without the path).
        return cls(
            path,
            f"{stem}.whl",
            name,  # type: ignore[arg-type]
            version,
            build,  # type: ignore[arg-type]
            _parse_tags(stem[len(head) + 1 :]),  # type: ignore[arg-type]
            source,
            CID(*cid),
            extras,  # type: ignore[arg-type]
            dependencies,
            None if python is None else _parse_specifier(python),
            sha256,
            size,
            license_,
        )

    def to_toml(self) -> dict[str, object]:
        """The TOML table, keys in KEY_ORDER, optional keys only when set."""
        table: dict[str, object] = {"source": self.source, "content-id": str(self.content_id)}
        if self.sha256 is not None:
            table["sha256"] = self.sha256
        if self.size is not None:
            table["size"] = self.size
        if self.requires_python is not None:
            table["requires-python"] = str(self.requires_python)
        if self.license is not None:
            table["license"] = self.license
        table["extras"] = list(self.extras)
        table["dependencies"] = list(self.dependencies)
        return table


def _source_problem(source: str, filename: str) -> str | None:
    if source.startswith(INDEX_SOURCE_PREFIX):
        if source[len(INDEX_SOURCE_PREFIX) :] != filename:
            return f"index source {source!r} does not name this wheel ({filename})"
        return None
    if not _URL.fullmatch(source):
        return f"source must be an https://, http://, file:// URL or index:<wheel>, got {source!r}"
    last = unquote(urlsplit(source).path.rsplit("/", 1)[-1])
    if last != filename:
        return f"source URL does not end in the wheel file name {filename}"
    return None


class _Problems:
    """Collects a file's problems; the first one is what parse_declaration raises."""

    __slots__ = ("items", "path")

    def __init__(self, path: PurePosixPath) -> None:
        self.path = path
        self.items: list[DeclarationError] = []

    def add(self, code: str, message: str) -> None:
        self.items.append(DeclarationError(message, path=self.path, code=code))

    def parsed(
        self,
        code: str,
        label: str,
        parse: Callable[[str], _T],
        text: str,
        error: type[Exception] | tuple[type[Exception], ...],
    ) -> _T | None:
        """``parse(text)``, or None with a ``code`` problem ``label: why`` when it raises
        ``error``."""
        try:
            return parse(text)
        except error as e:
            self.add(code, f"{label}: {e}")
            return None

    def typed(self, table: Mapping[str, object], key: str, kind: type) -> object:
        """``table[key]`` if present and of ``kind`` (bool is not an int), else None."""
        if key not in table:
            return None
        value = table[key]
        if (
            value is None
            or not isinstance(value, kind)
            or (kind is int and isinstance(value, bool))
        ):
            self.add("TYPE", f"{key!r} must be {_KIND[kind]}, not {_toml_type(value)}")
            return None
        return value

    def strings(self, table: Mapping[str, object], key: str) -> list[str] | None:
        items = self.typed(table, key, list)
        if items is None:
            return None
        assert isinstance(items, list)
        if not all(isinstance(item, str) for item in items):
            self.add("TYPE", f"{key!r} must be an array of strings")
            return None
        return items


_KIND = {str: "a string", int: "an integer", list: "an array"}


def _toml_type(value: object) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a float",
        bool: "a boolean",
        list: "an array",
        dict: "a table",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def validate_declaration(
    table: Mapping[str, object], path: PurePosixPath
) -> tuple[Declaration | None, list[DeclarationError]]:
    """Validate a parsed TOML table found at ``path`` (relative to the collection).

    Returns the Declaration (None when anything is wrong) and every problem found, each a
    DeclarationError with code FILENAME, MISSING-KEY, UNKNOWN-KEY, TYPE, SOURCE, CID,
    SPECIFIER, EXTRAS, REQUIREMENT, LICENSE or VALUE. The path must end in ``<stem>.toml``;
    the wheel's name, version and tags come from the stem.
    """
    problems = _Problems(path)
    if path.suffix != ".toml":
        problems.add("FILENAME", "declaration must end in .toml")
        return None, problems.items
    filename = path.name[: -len(".toml")] + ".whl"
    try:
        name, version, build, tags = parse_wheel_name(filename, path)
    except DeclarationError as e:
        return None, [e]
    get = table.get
    source, cid_text, python_text = get("source"), get("content-id"), get("requires-python")
    raw_extras, raw_dependencies = get("extras"), get("dependencies")
    sha256, size = get("sha256"), get("size")
    # The shape of almost every file is right: test it in one expression, and only when it
    # is not, walk the keys and types again to say what is wrong.
    well_formed = (
        _KNOWN.issuperset(table)
        and type(source) is str
        and type(cid_text) is str
        and type(raw_extras) is list
        and type(raw_dependencies) is list
        and (python_text is None or type(python_text) is str)
        and (sha256 is None or type(sha256) is str)
        and (size is None or type(size) is int)
        and all(type(e) is str for e in raw_extras)
        and all(type(d) is str for d in raw_dependencies)
    )
    if not well_formed:
        for key in table:
            if key not in _KNOWN:
                allowed = ", ".join(KEY_ORDER)
                problems.add("UNKNOWN-KEY", f"unknown key {key!r} (allowed: {allowed})")
        for key in _REQUIRED:
            if key not in table:
                problems.add("MISSING-KEY", f"missing required key {key!r}")
        source = problems.typed(table, "source", str)
        cid_text = problems.typed(table, "content-id", str)
        python_text = problems.typed(table, "requires-python", str)
        raw_extras = problems.strings(table, "extras")
        raw_dependencies = problems.strings(table, "dependencies")
        sha256 = problems.typed(table, "sha256", str)
        size = problems.typed(table, "size", int)

    if isinstance(source, str) and (problem := _source_problem(source, filename)):
        problems.add("SOURCE", problem)

    content_id = requires_python = None
    if isinstance(cid_text, str):
        content_id = problems.parsed("CID", "content-id", parse_cid, cid_text, InvalidCID)
        if content_id is not None and content_id.version != 0:
            problems.add("CID", "content-id must be a CIDv0 (Qm…), as `ipfs add` gives")
    if isinstance(python_text, str):
        requires_python = problems.parsed(
            "SPECIFIER", "requires-python", _parse_specifier, python_text, InvalidSpecifier
        )

    extras: tuple[NormalizedName, ...] = ()
    if raw_extras:
        assert isinstance(raw_extras, list)
        extras = tuple(canonicalize_name(e) for e in raw_extras)
        if list(extras) != raw_extras:
            bad = next(e for e, n in zip(raw_extras, extras, strict=True) if e != n)
            problems.add("EXTRAS", f"extra {bad!r} is not normalised (PEP 685)")
        elif not all(_EXTRA_NAME.fullmatch(e) for e in extras):
            bad = next(e for e in extras if not _EXTRA_NAME.fullmatch(e))
            problems.add("EXTRAS", f"extra {bad!r} is not a name (PEP 508)")
        if len(set(extras)) != len(extras):
            problems.add("EXTRAS", "extras must not repeat")

    dependencies: tuple[str, ...] = tuple(raw_dependencies or ())  # type: ignore[arg-type]
    for dependency in dependencies:
        try:
            parse_requirement(dependency)
        except InvalidRequirement as e:
            problems.add("REQUIREMENT", f"dependency {dependency!r}: {e}")

    if isinstance(sha256, str) and not _SHA256.fullmatch(sha256):
        problems.add("VALUE", "sha256 must be 64 lower-case hex digits")
    if isinstance(size, int) and not 0 <= size <= MAX_FILE_SIZE:
        problems.add("VALUE", f"size must be between 0 and {MAX_FILE_SIZE}")
    license_text = problems.typed(table, "license", str) if "license" in table else None
    if isinstance(license_text, str):
        from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

        try:
            canonical = canonicalize_license_expression(license_text)
        except InvalidLicenseExpression as e:
            problems.add("LICENSE", f"license is not an SPDX expression: {e}")
        else:
            if canonical != license_text:
                problems.add("LICENSE", f"license should be written {canonical!r}")

    if problems.items:
        return None, problems.items
    assert isinstance(source, str) and content_id is not None
    decl = Declaration(
        path=path,
        filename=filename,
        name=name,
        version=version,
        build=build,
        tags=tags,
        source=source,
        content_id=content_id,
        extras=extras,
        dependencies=dependencies,
        requires_python=requires_python,
        sha256=sha256 if isinstance(sha256, str) else None,
        size=size if isinstance(size, int) else None,
        license=license_text if isinstance(license_text, str) else None,
    )
    return decl, []


def parse_declaration(table: Mapping[str, object], path: PurePosixPath) -> Declaration:
    """Validate a parsed TOML table found at ``path``; the Declaration or the first problem.

    Raises:
        DeclarationError: see validate_declaration() for the codes.
    """
    decl, problems = validate_declaration(table, path)
    if problems:
        raise problems[0]
    assert decl is not None
    return decl


def format_declaration(decl: Declaration) -> str:
    """The TOML text of a declaration (stable key order)."""
    import tomli_w

    return tomli_w.dumps(decl.to_toml())


def load_declaration(file: Path, root: Path) -> Declaration:
    """Read and validate ``file`` (inside collection directory ``root``).

    Raises:
        DeclarationError: unreadable file (IO), malformed TOML (TOML), or invalid content.
    """
    rel = PurePosixPath(file.relative_to(root).as_posix())
    try:
        table = canonical_toml.read_toml(file.read_bytes())
    except canonical_toml.NotToml as e:
        raise DeclarationError(str(e), path=rel, code="TOML") from e
    except OSError as e:
        raise DeclarationError(f"cannot read: {e.strerror or e}", path=rel, code="IO") from e
    return parse_declaration(table, rel)


def dump_declaration(decl: Declaration, root: Path) -> Path:
    """Write the declaration under collection directory ``root``; return the file written."""
    target = root / Path(*decl.path.parts)
    atomic_write_text(target, format_declaration(decl))
    return target
