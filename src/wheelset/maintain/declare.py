"""Declaring wheels: sources -> checked Declarations -> files in a collection.

A source is a local ``.whl`` path, an ``http(s)://`` or ``file://`` URL of a wheel, or a
release ``NAME==VERSION`` (``NAME`` alone: its newest final release with a fitting
wheel). For a release, the index's files are planned: the fewest wheels covering every
supported platform, most widely compatible first (one ``py3-none-any`` or abi3 wheel
beats many per-version ones, unless compiled wheels cover every platform, as pip would
prefer them; manylinux2014 beats manylinux_2_28), never two that one system could both
install; they are written with ``source = "index:<filename>"``.
A local wheel is written with its absolute ``file://`` URL unless a source is given.
Everything is fetched and checked before anything is written (nothing half-declared).
Entry points: parse_source(), plan_release(), declare_sources(), declare_release(),
write_declarations(), wheel_candidates().
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.errors import DeclareError
from wheelset.fetch.credentials import strip_credentials
from wheelset.fetch.index import IndexFile
from wheelset.fetch.wheels import WheelFetcher
from wheelset.fsutil import atomic_write_text
from wheelset.ipfs.importer import digest_stream
from wheelset.model.declarations import (
    INDEX_SOURCE_PREFIX,
    Declaration,
    DeclarationError,
    format_declaration,
    parse_wheel_name,
)
from wheelset.model.overlap import wheels_overlap
from wheelset.model.platforms import Platform, describe_platforms
from wheelset.model.wheelfile import (
    declaration_for,
    not_a_wheel_format,
    read_wheel,
    sdist_version,
)
from wheelset.workers import signals_to_main_thread

__all__ = [
    "DeclareError",
    "Declared",
    "ReleasePlan",
    "SourceSpec",
    "WheelCandidate",
    "declare_index_file",
    "declare_release",
    "declare_sources",
    "parse_source",
    "plan_release",
    "run_parallel",
    "wheel_candidates",
    "write_declarations",
]

_RELEASE = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?(?:\s*==\s*(\S+))?"
)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed SOURCE argument: kind is ``file``, ``url`` or ``release``."""

    kind: str
    text: str
    name: NormalizedName | None = None
    version: Version | None = None
    extras: tuple[NormalizedName, ...] | None = None  # NAME[a,b]: None when not written


def _url_filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def parse_source(text: str) -> SourceSpec:
    """Classify a SOURCE argument.

    Raises:
        DeclareError: a source distribution, or text that is none of the three forms.
    """
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text):
        scheme = text.split(":", 1)[0].lower()
        if scheme not in ("http", "https", "file"):
            raise DeclareError(f"{text}: only http(s):// and file:// URLs are supported")
        name = _url_filename(text)
        if (refused := not_a_wheel_format(name, text)) is not None:
            raise DeclareError(refused, path=text)
        if not name.endswith(".whl"):
            raise DeclareError(f"{text}: not a wheel URL (must end in .whl)")
        parse_wheel_name(name)
        return SourceSpec("url", text)
    if (refused := not_a_wheel_format(text)) is not None:
        raise DeclareError(refused, path=text)
    if text.endswith(".whl") or "/" in text or "\\" in text:
        if not text.endswith(".whl"):
            raise DeclareError("not a wheel file (must end in .whl)", path=text)
        return SourceSpec("file", text)
    m = _RELEASE.fullmatch(text.strip())
    if not m:
        raise DeclareError(
            f"{text!r}: expected a .whl path, a URL, or NAME[extras][==VERSION]", code="USAGE"
        )
    version = None
    if m.group(3) is not None:
        try:
            version = Version(m.group(3))
        except InvalidVersion as e:
            raise DeclareError(f"{text!r}: invalid version {m.group(3)!r}", code="USAGE") from e
    extras = None
    if m.group(2) is not None:
        extras = tuple(
            dict.fromkeys(canonicalize_name(e.strip()) for e in m.group(2).split(",") if e.strip())
        )
    return SourceSpec("release", text, canonicalize_name(m.group(1)), version, extras)


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """The wheels chosen for a release, and the platforms none of them fits."""

    name: NormalizedName
    version: Version
    files: tuple[IndexFile, ...]
    uncovered: tuple[Platform, ...]


@dataclass(frozen=True, slots=True)
class WheelCandidate:
    """A wheel on an index page and the supported platforms that would install it."""

    file: IndexFile
    version: Version
    tags: frozenset[Tag]
    covers: frozenset[str]  # platform ids: a tag fits and requires-python admits the Python
    generality: int  # sum of tag ranks over covered platforms: higher = fits more systems


def wheel_candidates(
    name: str, files: Sequence[IndexFile], platforms: Sequence[Platform]
) -> list[WheelCandidate]:
    """Every wheel of project ``name`` among ``files``, with the platforms it covers.

    Other projects' files, source distributions and invalid wheel names are skipped; a
    wheel that covers no platform is kept (with empty ``covers``). Yanked files are kept
    too: ``file.yanked`` tells.
    """
    name = canonicalize_name(name)
    found = []
    for item in files:
        if not item.filename.endswith(".whl"):
            continue
        try:
            wheel_name, version, _build, tags = parse_wheel_name(item.filename)
        except DeclarationError:
            continue
        if wheel_name != name:
            continue
        requires_python = None
        if item.requires_python:
            try:
                requires_python = SpecifierSet(item.requires_python)
            except InvalidSpecifier:
                requires_python = None
        covers = set()
        generality = 0
        for platform in platforms:
            ranks = [platform.tag_rank[t] for t in tags if t in platform.tag_rank]
            if not ranks:
                continue
            if requires_python is not None and not requires_python.contains(
                platform.python, prereleases=True
            ):
                continue
            covers.add(platform.id)
            generality += min(ranks)
        found.append(WheelCandidate(item, version, tags, frozenset(covers), generality))
    return found


def plan_release(
    name: str,
    version: Version | None,
    files: Sequence[IndexFile],
    platforms: Sequence[Platform],
) -> ReleasePlan:
    """Choose the wheels of a release: on each platform the one pip would install there.

    pip takes, on each system, the wheel whose best tag comes first in that system's tag
    order — a compiled wheel before a ``py3-none-any`` one. Those choices are kept when no
    system could install two of them together; otherwise (say, a pure wheel is pip's
    choice on one platform only), the fewest non-overlapping wheels covering every
    platform are taken instead — greedy set cover: repeatedly the wheel covering most
    still-uncovered platforms (ties: the more widely compatible one, then the file name).

    Raises:
        DeclareError: no such release, source distributions only, or no wheel fits.
    """
    project = canonicalize_name(name)
    candidates = wheel_candidates(project, files, platforms)
    if version is None:
        usable = [c for c in candidates if c.covers and not c.file.yanked]
        finals = [c for c in usable if not c.version.is_prerelease]
        if not usable:
            raise DeclareError(
                f"{project}: no release has a wheel for a supported platform"
                + _newest_wheels(candidates)
            )
        version = max(c.version for c in (finals or usable))
    release = [c for c in candidates if c.version == version]
    if not release:
        if any(sdist_version(item.filename, project) == version for item in files):
            raise DeclareError(
                f"{project} {version} has only source distributions; wheelset declares "
                f"wheels: build one (`pip wheel --no-deps '{project}=={version}'`) and "
                "declare the .whl file"
            )
        known = sorted({c.version for c in candidates})[-5:]
        raise DeclareError(
            f"{project} has no release {version} on the index"
            + (f" (newest: {', '.join(map(str, known))})" if known else "")
        )
    uncovered = set().union(*(c.covers for c in release))
    if not uncovered:
        tags = sorted(c.file.filename.split("-", 2)[2][: -len(".whl")] for c in release)
        raise DeclareError(
            f"no wheel of {project} {version} installs on a supported platform "
            f"(it has {', '.join(tags[:3])}{', …' if len(tags) > 3 else ''})"
        )
    chosen = _pips_choice(release, platforms)
    if any(
        wheels_overlap(a.tags, b.tags) is not None
        for i, a in enumerate(chosen)
        for b in chosen[i + 1 :]
    ):
        chosen = _greedy_cover(release, uncovered)
    covered = set().union(*(c.covers for c in chosen))
    return ReleasePlan(
        name=project,
        version=version,
        files=tuple(sorted((c.file for c in chosen), key=lambda f: f.filename)),
        uncovered=tuple(p for p in platforms if p.id not in covered),
    )


def _pips_choice(
    release: Sequence[WheelCandidate], platforms: Sequence[Platform]
) -> list[WheelCandidate]:
    """The wheel pip installs on each platform (best tag rank, then file name), deduplicated."""
    chosen: dict[str, WheelCandidate] = {}
    for platform in platforms:
        best: tuple[tuple[int, str], WheelCandidate] | None = None
        for c in release:
            if platform.id not in c.covers:
                continue
            rank = min(platform.tag_rank[t] for t in c.tags if t in platform.tag_rank)
            key = (rank, c.file.filename)
            if best is None or key < best[0]:
                best = (key, c)
        if best is not None:
            chosen.setdefault(best[1].file.filename, best[1])
    return list(chosen.values())


def _greedy_cover(release: Sequence[WheelCandidate], uncovered: set[str]) -> list[WheelCandidate]:
    chosen: list[WheelCandidate] = []
    while uncovered:
        options = [
            c
            for c in release
            if c.covers & uncovered
            and c not in chosen
            and all(wheels_overlap(c.tags, other.tags) is None for other in chosen)
        ]
        if not options:
            break
        best = min(
            options, key=lambda c: (-len(c.covers & uncovered), -c.generality, c.file.filename)
        )
        chosen.append(best)
        uncovered = uncovered - best.covers
    return chosen


def _newest_wheels(candidates: Sequence[WheelCandidate]) -> str:
    """`` (newest: 2.0 for cp312-cp312-win_amd64, …)`` to show what the index has."""
    if not candidates:
        return ""
    newest = max(c.version for c in candidates)
    tags = sorted(
        c.file.filename.split("-", 2)[2][: -len(".whl")] for c in candidates if c.version == newest
    )
    shown = ", ".join(tags[:3]) + (", …" if len(tags) > 3 else "")
    return f" (newest: {newest} for {shown})"


@dataclass(frozen=True, slots=True)
class Declared:
    """The outcome of declare_sources(): declarations to write, and notes for the user."""

    declarations: tuple[Declaration, ...]
    notes: tuple[str, ...] = ()


def _declare_file(text: str, source: str | None, extras: Collection[str] | None) -> Declaration:
    path = Path(text)
    filename = path.name
    try:
        with path.open("rb") as f:
            digest = digest_stream(f)
    except FileNotFoundError as e:
        raise DeclareError("no such file", path=text) from e
    except OSError as e:
        raise DeclareError(f"cannot read ({e.strerror or e})", path=text) from e
    metadata = read_wheel(path, filename)
    if source is None:
        source = path.resolve().as_uri()
    elif source == "index":
        source = INDEX_SOURCE_PREFIX + filename
    return declaration_for(filename, digest, metadata, source, extras)


def _declare_url(url: str, fetcher: WheelFetcher, extras: Collection[str] | None) -> Declaration:
    filename = _url_filename(url)
    fetched = fetcher.inspect_source(url, filename)
    # Credentials in the URL serve this download only; the declaration never records them.
    source = strip_credentials(url)
    return declaration_for(filename, fetched.digest, fetched.metadata, source, extras)


def declare_index_file(
    item: IndexFile, fetcher: WheelFetcher, extras: Collection[str] | None
) -> Declaration:
    """Fetch and check one wheel of an index page; its declaration (source ``index:``)."""
    source = INDEX_SOURCE_PREFIX + item.filename
    fetched = fetcher.inspect_source(source, item.filename, expected_sha256=item.sha256)
    return declaration_for(item.filename, fetched.digest, fetched.metadata, source, extras)


def declare_sources(
    sources: Sequence[str],
    *,
    fetcher: WheelFetcher,
    platforms: Sequence[Platform] | None = None,
    source: str | None = None,
    extras: Collection[str] | None = (),
    jobs: int = 4,
) -> Declared:
    """Fetch, check and describe every wheel the sources name; write nothing.

    ``platforms`` is needed for releases; ``source`` (a URL or ``index``) replaces the
    file:// URL of a single local wheel; ``extras`` are the extras to declare (None: all
    the wheel provides) unless a release names its own (``NAME[a,b]``); naming an extra
    the wheel does not provide is an error. Downloads run ``jobs`` at a time.

    Raises:
        DeclareError, DeclarationError, FetchError, NotAWheelError: the first failure.
    """
    specs = [parse_source(text) for text in sources]
    if source is not None and [s.kind for s in specs] != ["file"]:
        raise DeclareError("--source applies to exactly one local .whl file", code="USAGE")
    tasks: list[Callable[[], Declaration]] = []
    notes: list[str] = []
    for spec in specs:
        if spec.kind == "file":
            tasks.append(lambda spec=spec: _declare_file(spec.text, source, extras))
        elif spec.kind == "url":
            tasks.append(lambda spec=spec: _declare_url(spec.text, fetcher, extras))
        else:
            if not platforms:
                raise DeclareError(f"{spec.text}: declaring a release needs platforms.toml")
            assert spec.name is not None
            files = fetcher.index.project_files(spec.name)
            plan = plan_release(spec.name, spec.version, files, platforms)
            if plan.uncovered:
                notes.append(_uncovered_note(plan, spec.extras, files, platforms))
            wanted = extras if spec.extras is None else spec.extras
            for item in plan.files:
                tasks.append(lambda item=item, w=wanted: declare_index_file(item, fetcher, w))
    declarations = run_parallel(tasks, jobs)
    unique: dict[str, Declaration] = {}
    for decl in declarations:
        previous = unique.setdefault(str(decl.path), decl)
        if previous != decl:
            raise DeclareError("two sources give different wheels", path=decl.filename)
    return Declared(tuple(unique.values()), tuple(notes))


def _uncovered_note(
    plan: ReleasePlan,
    extras: Sequence[str] | None,
    files: Sequence[IndexFile],
    platforms: Sequence[Platform],
) -> str:
    """``NAME V: no wheel for …; X covers every platform: `wheelset declare NAME==X```."""
    from wheelset.maintain.outdated import find_update

    missing = describe_platforms([p.id for p in plan.uncovered], platforms)
    note = f"{plan.name} {plan.version}: no wheel for {missing}"
    every = [p.id for p in platforms]
    covering = find_update(plan.name, [Version("0")], every, files, platforms).newest
    if covering is None:
        return note + "; no release has wheels for every platform"
    named = f"{plan.name}[{','.join(extras)}]" if extras else plan.name
    return note + (
        f"; {covering} is the newest release with wheels for every platform: "
        f"`wheelset declare '{named}=={covering}' --replace`"
    )


def declare_release(
    plan: ReleasePlan,
    *,
    fetcher: WheelFetcher,
    extras: Collection[str] | None = None,
    jobs: int = 4,
) -> tuple[Declaration, ...]:
    """Fetch, check and describe the wheels of a release plan (``jobs`` at a time); write
    nothing. ``extras`` keeps only those extras (None: all the wheels provide).

    Raises:
        FetchError, NotAWheelError, DeclarationError: the first failure.
    """
    tasks = [lambda item=item: declare_index_file(item, fetcher, extras) for item in plan.files]
    return tuple(run_parallel(tasks, jobs))


def run_parallel(tasks: Sequence[Callable[[], Declaration]], jobs: int) -> list[Declaration]:
    """Run the tasks ``jobs`` at a time; the first failure cancels the rest."""
    if jobs <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=jobs, initializer=signals_to_main_thread) as pool:
        futures: list[Future[Declaration]] = [pool.submit(task) for task in tasks]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _refuse_links(root: Path, parts: Sequence[str]) -> None:
    """A symbolic link in the prefix/project/file path would write outside ``root``."""
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise DeclareError(
                f"a symbolic link; declarations are written only inside {root}",
                path=path,
                code="IO",
            )


def write_declarations(
    declarations: Sequence[Declaration], root: Path, *, replace: bool = False
) -> list[tuple[str, Path]]:
    """Write each declaration under ``root`` (atomically); with ``replace``, remove the
    project's other declarations. Returns (``added``/``updated``/``unchanged``/``removed``,
    path) pairs.

    Raises:
        DeclareError: a file cannot be written or removed.
    """
    report: list[tuple[str, Path]] = []
    written: set[Path] = set()
    try:
        for decl in declarations:
            target = root / Path(*decl.path.parts)
            _refuse_links(root, decl.path.parts)
            text = format_declaration(decl)
            if target.is_file() and target.read_text("utf-8") == text:
                status = "unchanged"
            else:
                status = "updated" if target.exists() else "added"
                atomic_write_text(target, text)
            written.add(target)
            report.append((status, target))
        if replace:
            for project_dir in sorted({t.parent for t in written}):
                for old in sorted(project_dir.glob("*.toml")):
                    if old not in written:
                        old.unlink()
                        report.append(("removed", old))
    except (OSError, UnicodeDecodeError) as e:
        raise DeclareError(f"cannot write declarations: {e}", path=root, code="IO") from e
    return report
