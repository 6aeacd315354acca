"""`declare --with-deps`: choose a release of every dependency, resolved with resolvelib.

The projects named, and everything they need, are resolved together with the collection:
each declared project is fixed at its declared version (its declared extras included), so
every specifier in the collection constrains the choice. A requirement counts where its
marker holds on a supported platform and its parent is needed there; a release is a
candidate only if `declare` can plan wheels for every platform it is needed on (tags and
requires-python, as plan_release does), newest first. Extras are separate identifiers
(``name[extra]``) pinned to their project's version, as pip models them.

A candidate's dependencies come from its declaration when declared, else from its
METADATA: the PEP 658/714 file when the index offers one (kept in the cache directory,
keyed by its sha256), else from one downloaded wheel (kept in the wheel cache). Nothing is
written here: resolve_closure() returns the releases to declare; declare_closure() fetches
and checks their wheels and returns the declarations.
Entry points: resolve_closure(), declare_closure(), ClosurePlan.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import RequirementInformation, ResolutionImpossible, ResolutionTooDeep

from wheelset.fetch.index import IndexClient, IndexFile
from wheelset.fetch.wheels import WheelFetcher
from wheelset.fsutil import atomic_write_bytes
from wheelset.maintain.declare import (
    Declared,
    DeclareError,
    ReleasePlan,
    SourceSpec,
    declare_index_file,
    plan_release,
    run_parallel,
)
from wheelset.maintain.outdated import covered_platforms, release_shortfalls
from wheelset.model.declarations import INDEX_SOURCE_PREFIX, Declaration, parse_requirement
from wheelset.model.platforms import Platform, describe_platforms
from wheelset.model.wheelfile import WheelMetadata, declaration_for, parse_metadata
from wheelset.workers import signals_to_main_thread

__all__ = ["ClosurePlan", "declare_closure", "resolve_closure"]

_COLLECTION = "the collection"  # the parent of the declared projects' pins
_MAX_ROUNDS = 2000  # resolvelib rounds before giving up (each pins one identifier)


@dataclass(frozen=True, slots=True)
class _Req:
    """A requirement on project ``name`` (or on its ``extra``), on some platforms."""

    name: NormalizedName
    extra: str | None
    specifier: SpecifierSet
    platforms: frozenset[str]  # where it applies
    parent: str  # who asks: "fastapi 0.115.0", "the command line"

    @property
    def key(self) -> str:
        return self.name if self.extra is None else f"{self.name}[{self.extra}]"


@dataclass(frozen=True, slots=True)
class _Candidate:
    name: NormalizedName
    version: Version
    extra: str | None
    covers: frozenset[str] = field(compare=False)  # platforms its planned wheels cover

    @property
    def key(self) -> str:
        return self.name if self.extra is None else f"{self.name}[{self.extra}]"


@dataclass(frozen=True, slots=True)
class ClosurePlan:
    """What to declare: new releases (with their extras), and declared projects whose
    declarations need more extras (re-declared with the union)."""

    releases: tuple[tuple[ReleasePlan, tuple[str, ...]], ...]
    more_extras: tuple[tuple[Declaration, tuple[str, ...]], ...]


class _Metadata:
    """Requires-Dist and extras of releases, from the index (PEP 658 file or one wheel)."""

    def __init__(self, fetcher: WheelFetcher, cache_dir: Path | None):
        self._fetcher = fetcher
        self._dir = cache_dir
        self._found: dict[tuple[str, Version], WheelMetadata] = {}

    def of(self, plan: ReleasePlan) -> WheelMetadata:
        key = (plan.name, plan.version)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._read(plan)
        return found

    def _read(self, plan: ReleasePlan) -> WheelMetadata:
        with_file = [f for f in plan.files if f.core_metadata is not None]
        if with_file:
            return self._core_metadata(with_file[0])
        item = plan.files[0]
        fetched = self._fetcher.inspect_source(
            INDEX_SOURCE_PREFIX + item.filename, item.filename, expected_sha256=item.sha256
        )
        return fetched.metadata

    def _core_metadata(self, item: IndexFile) -> WheelMetadata:
        sha256 = item.core_metadata or None
        cached = self._dir / f"{sha256}.metadata" if self._dir and sha256 else None
        if cached is not None and cached.is_file():
            data = cached.read_bytes()
            if hashlib.sha256(data).hexdigest() == sha256:
                return parse_metadata(data, item.filename)
        data = self._fetcher.core_metadata(item)
        if cached is not None:
            with contextlib.suppress(OSError):  # a cache that cannot be written is skipped
                atomic_write_bytes(cached, data)
        return parse_metadata(data, item.filename)


class _Provider(AbstractProvider):  # type: ignore[type-arg]
    def __init__(
        self,
        *,
        index: IndexClient,
        metadata: _Metadata,
        platforms: Sequence[Platform],
        declared: Mapping[NormalizedName, Sequence[Declaration]],
        fixed: Mapping[NormalizedName, frozenset[str]],
        pool: ThreadPoolExecutor,
    ):
        self.index = index
        self.metadata = metadata
        self.platforms = platforms
        self.declared = declared
        self.fixed = fixed  # declared projects: the platforms their wheels cover
        self.plans: dict[tuple[str, Version], ReleasePlan] = {}
        self._pool = pool
        self._pages: dict[str, Future[list[IndexFile]]] = {}

    # -- index pages, read ahead on the pool as soon as a project is named --
    def prefetch(self, name: NormalizedName) -> None:
        if name not in self.fixed and name not in self._pages:
            self._pages[name] = self._pool.submit(self.index.project_files, name)

    def files(self, name: NormalizedName) -> list[IndexFile]:
        self.prefetch(name)
        return self._pages[name].result()

    def releases(
        self, name: NormalizedName, needed: frozenset[str], prereleases: bool
    ) -> Iterator[_Candidate]:
        """Releases whose wheels cover ``needed``, newest first (declared: the one)."""
        if name in self.fixed:
            decl = self.declared[name][0]
            yield _Candidate(name, decl.version, None, self.fixed[name])
            return
        files = self.files(name)
        wanted = [p for p in self.platforms if p.id in needed]
        found = release_shortfalls(name, files, wanted, self.platforms, prereleases=prereleases)
        for version, shortfall in found:
            if shortfall is not None:
                continue
            plan = self.plans.get((name, version))
            if plan is None:
                plan = self.plans[name, version] = plan_release(
                    name, version, files, self.platforms
                )
            covered = frozenset(self.platforms_ids()) - {p.id for p in plan.uncovered}
            yield _Candidate(name, version, None, covered)

    def platforms_ids(self) -> list[str]:
        return [p.id for p in self.platforms]

    # -- resolvelib's interface --
    def identify(self, requirement_or_candidate: _Req | _Candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(self, identifier, resolutions, candidates, information, backtrack_causes):  # type: ignore[no-untyped-def]
        name = identifier.split("[", 1)[0]
        # Fixed projects first (one candidate), then extras after their project, by name.
        return (name not in self.fixed, "[" in identifier, identifier)

    def find_matches(self, identifier, requirements, incompatibilities):  # type: ignore[no-untyped-def]
        reqs: list[_Req] = list(requirements[identifier])
        bad = {c.version for c in incompatibilities[identifier]}
        name = canonicalize_name(identifier.split("[", 1)[0])
        extra = identifier[len(name) + 1 : -1] if "[" in identifier else None
        needed = frozenset().union(*(r.platforms for r in reqs))
        # As pip: pre-releases only for a specifier that names one (``==0.66b2``).
        prereleases = any(r.specifier.prereleases for r in reqs)

        def matches() -> Iterator[_Candidate]:
            for candidate in self.releases(name, needed, prereleases):
                if candidate.version in bad:
                    continue
                found = _Candidate(name, candidate.version, extra, candidate.covers)
                if all(self.is_satisfied_by(r, found) for r in reqs):
                    yield found

        return matches

    def is_satisfied_by(self, requirement: _Req, candidate: _Candidate) -> bool:
        return requirement.platforms <= candidate.covers and requirement.specifier.contains(
            candidate.version, prereleases=True
        )

    def get_dependencies(self, candidate: _Candidate) -> list[_Req]:
        parent = f"{candidate.name} {candidate.version}"
        where = candidate.covers
        if candidate.extra is not None:
            own = [
                _Req(candidate.name, None, SpecifierSet(f"=={candidate.version}"), where, parent)
            ]
            return own + self.requirements(candidate, candidate.extra, where, parent)
        return self.requirements(candidate, "", where, parent)

    def requirements(
        self, candidate: _Candidate, extra: str, where: frozenset[str], parent: str
    ) -> list[_Req]:
        if candidate.name in self.fixed:
            texts: Sequence[str] = self.declared[candidate.name][0].dependencies
        else:
            texts = self.metadata.of(self.plans[candidate.name, candidate.version]).dependencies
        found = []
        for text in texts:
            requirement = parse_requirement(text)
            marker = requirement.marker
            if extra and (marker is None or "extra" not in str(marker)):
                continue  # the project's own requirements come with the project
            on = frozenset(
                p.id
                for p in self.platforms
                if p.id in where
                and (marker is None or _holds(marker, {**p.environment, "extra": extra}))
            )
            if not on:
                continue
            name = canonicalize_name(requirement.name)
            self.prefetch(name)
            found.append(_Req(name, None, requirement.specifier, on, parent))
            for wanted in sorted(canonicalize_name(e) for e in requirement.extras):
                found.append(_Req(name, wanted, requirement.specifier, on, parent))
        return found


def _holds(marker: object, environment: dict[str, str]) -> bool:
    try:
        return bool(marker.evaluate(environment))  # type: ignore[attr-defined]
    except Exception:  # packaging's Undefined*/InvalidVersion: a marker no platform meets
        return False


def resolve_closure(
    specs: Sequence[SourceSpec],
    declarations: Sequence[Declaration],
    platforms: Sequence[Platform],
    *,
    index: IndexClient,
    fetcher: WheelFetcher,
    cache_dir: Path | None = None,
    replace: bool = False,
    jobs: int = 4,
) -> ClosurePlan:
    """Resolve the releases ``specs`` name (``NAME[extras][==VERSION]``) together with the
    collection's ``declarations`` and every dependency; write nothing. With ``replace``,
    the projects named are not fixed at their declared versions.

    Raises:
        DeclareError: no set of releases fits (one line per project that cannot be
            satisfied, and why), or the resolution takes too long.
        FetchError, IndexLookupError, NotAWheelError: the index or a wheel fails.
    """
    every = frozenset(p.id for p in platforms)
    named = {s.name for s in specs if s.name is not None}
    declared: dict[NormalizedName, list[Declaration]] = {}
    for decl in declarations:
        declared.setdefault(decl.name, []).append(decl)
    covers = covered_platforms(declarations, platforms)
    fixed = {
        name: frozenset(covers.get(name, ()))
        for name in declared
        if not (replace and name in named)
    }
    roots: list[_Req] = []
    for name, decls in declared.items():
        if name not in fixed:
            continue
        pin = SpecifierSet(f"=={decls[0].version}")
        where = fixed[name]
        roots.append(_Req(name, None, pin, where, _COLLECTION))
        roots += [_Req(name, e, pin, where, _COLLECTION) for e in decls[0].extras]
    for spec in specs:
        assert spec.name is not None
        pin = SpecifierSet(f"=={spec.version}") if spec.version is not None else SpecifierSet()
        roots.append(_Req(spec.name, None, pin, every, "the command line"))
        roots += [_Req(spec.name, e, pin, every, "the command line") for e in spec.extras or ()]
    with ThreadPoolExecutor(max_workers=max(1, jobs), initializer=signals_to_main_thread) as pool:
        provider = _Provider(
            index=index,
            metadata=_Metadata(fetcher, cache_dir),
            platforms=platforms,
            declared=declared,
            fixed=fixed,
            pool=pool,
        )
        for spec in specs:
            assert spec.name is not None
            provider.prefetch(spec.name)
        try:
            result = Resolver(provider, BaseReporter()).resolve(roots, max_rounds=_MAX_ROUNDS)
        except ResolutionImpossible as e:
            raise DeclareError(_explain(e.causes, provider, platforms)) from None
        except ResolutionTooDeep as e:
            raise DeclareError(
                f"no set of releases found after {e.round_count} rounds; "
                "name versions (NAME==VERSION) to narrow the search"
            ) from None
    extras: dict[NormalizedName, set[str]] = {}
    versions: dict[NormalizedName, Version] = {}
    for candidate in result.mapping.values():
        versions[candidate.name] = candidate.version
        if candidate.extra is not None:
            extras.setdefault(candidate.name, set()).add(candidate.extra)
    releases = []
    more = []
    for name, version in sorted(versions.items()):
        wanted = extras.get(name, set())
        if name in fixed:
            decls = declared[name]
            candidate = _Candidate(name, version, None, fixed[name])
            offered = {e for e in wanted if provider.requirements(candidate, e, every, "")}
            union = set(decls[0].extras) | offered
            if union != set(decls[0].extras):
                more += [(d, tuple(sorted(union))) for d in decls]
            continue
        plan = provider.plans[name, version]
        offered = set(provider.metadata.of(plan).extras)
        asked = {e for s in specs if s.name == name for e in s.extras or ()}
        unknown = sorted(asked - offered)
        if unknown:
            raise DeclareError(
                f"{name} {version}: no extra {', '.join(unknown)} "
                f"(it provides: {', '.join(sorted(offered)) or 'none'})",
                code="EXTRAS",
            )
        releases.append((plan, tuple(sorted(wanted & offered))))
    return ClosurePlan(tuple(releases), tuple(more))


def _asks(reqs: Sequence[_Req]) -> str:
    return "; ".join(sorted({f"{r.parent} needs {r.key}{r.specifier or ''}" for r in reqs}))


def _explain(
    causes: Sequence[RequirementInformation],  # type: ignore[type-arg]
    provider: _Provider,
    platforms: Sequence[Platform],
) -> str:
    """One line per project no release of which fits: who asks for what, and why the
    newest release matching the specifiers does not do."""
    asks: dict[NormalizedName, list[_Req]] = {}
    for cause in causes:
        asks.setdefault(cause.requirement.name, []).append(cause.requirement)
    lines = []
    for name, reqs in sorted(asks.items()):
        specifier = SpecifierSet()
        for r in reqs:
            specifier &= r.specifier
        needed = frozenset().union(*(r.platforms for r in reqs))
        who = _asks(reqs)
        if name in provider.fixed:
            version = provider.declared[name][0].version
            others = [r for r in reqs if r.parent != _COLLECTION]
            wanted_spec = SpecifierSet()
            for r in others:
                wanted_spec &= r.specifier
            who = _asks(others)
            lines.append(
                f"{name}: declared at {version}, but {who} "
                f"(re-declare it: `wheelset declare '{name}{wanted_spec}' --with-deps --replace`)"
            )
            continue
        wanted = [p for p in platforms if p.id in needed]
        why = "no release on the index"
        for version, shortfall in release_shortfalls(name, provider.files(name), wanted, platforms):
            if specifier.contains(version, prereleases=True):
                why = (
                    f"{version} {shortfall.reason}"
                    if shortfall is not None
                    else f"{version} covers them but conflicts with other requirements"
                )
                break
        where = describe_platforms(needed, platforms)
        lines.append(f"{name}: no release fits {who} with wheels for {where} (newest: {why})")
    return "\n".join(lines) or "no set of releases satisfies every requirement"


def declare_closure(plan: ClosurePlan, *, fetcher: WheelFetcher, jobs: int = 4) -> Declared:
    """Fetch and check every wheel of ``plan`` (``jobs`` at a time); write nothing.

    Raises:
        FetchError, NotAWheelError, DeclarationError: the first failure.
    """
    tasks: list[Callable[[], Declaration]] = []
    for release, extras in plan.releases:
        for item in release.files:
            tasks.append(lambda item=item, e=extras: declare_index_file(item, fetcher, e))
    for decl, extras in plan.more_extras:
        tasks.append(lambda decl=decl, e=extras: _again(decl, fetcher, e))
    notes = tuple(
        f"{decl.filename}: extras now {', '.join(extras)}" for decl, extras in plan.more_extras
    )
    return Declared(tuple(run_parallel(tasks, jobs)), notes)


def _again(decl: Declaration, fetcher: WheelFetcher, extras: Sequence[str]) -> Declaration:
    """A declared wheel with other extras: fetched again (the cache usually has it)."""
    fetched = fetcher.inspect_source(decl.source, decl.filename, expected_sha256=decl.sha256)
    return declaration_for(decl.filename, fetched.digest, fetched.metadata, decl.source, extras)
