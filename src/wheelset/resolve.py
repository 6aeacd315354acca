"""Resolution in a single-version set: requested names -> the one wheel of each project needed.

Every project of a root has exactly one version, so resolving is a closure walk: pick the
best-tagged wheel of each requested project for the target (tags, requires-python), follow
its dependencies (markers evaluated in the target environment, extras expanded) and check
each specifier against the single version. Errors name the requirement and who asked.
No I/O, no network.
MERGE NOTE: `wheelset check`'s closure check (branch `check`) walks the same graph; the
lead should make both share `select_wheel` and the walk here (or there).
Entry points: resolve(), select_wheel(), Resolution, ResolutionError and its subclasses.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name

from wheelset.declarations import Declaration
from wheelset.errors import WheelsetError

__all__ = [
    "NoWheelForPlatform",
    "Resolution",
    "ResolutionError",
    "UnknownExtra",
    "UnknownProject",
    "UnsatisfiedDependency",
    "VersionConflict",
    "resolve",
    "select_wheel",
]

_BASE = ""  # the "no extra" key: dependencies that apply without any extra


class ResolutionError(WheelsetError):
    """The requested projects cannot be installed from this set on this target."""


class UnknownProject(ResolutionError):
    """A requested (or depended-on) project has no wheel at all in the set."""

    def __init__(self, message: str):
        super().__init__(message, code="UNKNOWN")


class NoWheelForPlatform(ResolutionError):
    """The project exists, but none of its wheels fits the target's tags or Python."""

    def __init__(self, message: str):
        super().__init__(message, code="PLATFORM")


class VersionConflict(ResolutionError):
    """A user specifier (``NAME>=X``) excludes the single available version."""

    def __init__(self, message: str):
        super().__init__(message, code="CONFLICT")


class UnsatisfiedDependency(ResolutionError):
    """A wheel's dependency specifier excludes the single available version."""

    def __init__(self, message: str):
        super().__init__(message, code="DEPENDENCY")


class UnknownExtra(ResolutionError):
    """The user asked for an extra the project does not provide."""

    def __init__(self, message: str):
        super().__init__(message, code="EXTRA")


@dataclass(frozen=True, slots=True)
class Resolution:
    """The chosen wheels, dependencies before dependents, and the extras each one needs."""

    selected: tuple[Declaration, ...]
    extras: Mapping[NormalizedName, frozenset[NormalizedName]]
    requested: tuple[NormalizedName, ...]


def _python_ok(decl: Declaration, env: Mapping[str, str]) -> bool:
    if decl.requires_python is None:
        return True
    return decl.requires_python.contains(env["python_full_version"], prereleases=True)


def select_wheel(
    candidates: Iterable[Declaration], tags: Sequence[Tag], env: Mapping[str, str]
) -> Declaration | None:
    """The candidate whose best tag ranks highest in ``tags`` and whose requires-python fits."""
    rank = {tag: i for i, tag in reversed(list(enumerate(tags)))}
    best: tuple[int, str] | None = None
    chosen = None
    for decl in candidates:
        ranks = [rank[t] for t in decl.tags if t in rank]
        if not ranks or not _python_ok(decl, env):
            continue
        key = (min(ranks), decl.filename)
        if best is None or key < best:
            best, chosen = key, decl
    return chosen


def _describe(parent: Declaration | None) -> str:
    return "requested" if parent is None else f"required by {parent.name} {parent.version}"


def _no_wheel(
    name: str, candidates: Sequence[Declaration], env: Mapping[str, str], target: str
) -> NoWheelForPlatform:
    versions = sorted({str(d.version) for d in candidates})
    python = env.get("python_full_version", "?")
    if candidates and all(not _python_ok(d, env) for d in candidates):
        needs = sorted({str(d.requires_python) for d in candidates})
        return NoWheelForPlatform(
            f"{name} {', '.join(versions)} requires Python {' or '.join(needs)}; "
            f"{target} is Python {python}"
        )
    files = ", ".join(sorted(d.filename for d in candidates)[:3])
    more = f" (+{len(candidates) - 3} more)" if len(candidates) > 3 else ""
    return NoWheelForPlatform(
        f"no wheel of {name} {', '.join(versions)} fits {target}; available: {files}{more}"
    )


def _applies(marker: Marker | None, env: Mapping[str, str], extra: str) -> bool:
    return marker is None or marker.evaluate({**env, "extra": extra})


class _Walk:
    def __init__(
        self,
        declarations: Iterable[Declaration],
        env: Mapping[str, str],
        tags: Sequence[Tag],
        target: str,
    ):
        self.by_name: dict[str, list[Declaration]] = {}
        for decl in declarations:
            self.by_name.setdefault(decl.name, []).append(decl)
        self.env = env
        self.tags = tags
        self.target = target
        self.chosen: dict[NormalizedName, Declaration] = {}
        self.extras: dict[NormalizedName, set[str]] = {}
        self.edges: dict[NormalizedName, list[NormalizedName]] = {}
        self.queue: deque[tuple[Requirement, Declaration | None]] = deque()

    def pick(self, name: NormalizedName, parent: Declaration | None) -> Declaration:
        if name in self.chosen:
            return self.chosen[name]
        candidates = self.by_name.get(name)
        if not candidates:
            if parent is None:
                close = difflib.get_close_matches(name, list(self.by_name), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise UnknownProject(f"no project {name!r} in this root{hint}")
            raise UnknownProject(
                f"{parent.name} {parent.version} depends on {name!r}, which is not in this root"
            )
        decl = select_wheel(candidates, self.tags, self.env)
        if decl is None:
            raise _no_wheel(name, candidates, self.env, self.target)
        self.chosen[name] = decl
        self.extras[name] = set()
        return decl

    def visit(self, req: Requirement, parent: Declaration | None) -> None:
        name = canonicalize_name(req.name)
        decl = self.pick(name, parent)
        if not req.specifier.contains(decl.version, prereleases=True):
            if parent is None:
                raise VersionConflict(
                    f"you asked for {req.name}{req.specifier}, but this root has only "
                    f"{decl.name} {decl.version}"
                )
            raise UnsatisfiedDependency(
                f"{parent.name} {parent.version} requires {req}, but this root has only "
                f"{decl.name} {decl.version}"
            )
        if parent is not None:
            self.edges.setdefault(parent.name, []).append(name)
        wanted = {canonicalize_name(e) for e in req.extras}
        unknown = sorted(wanted - set(decl.extras))
        if unknown and parent is None:
            offered = ", ".join(decl.extras) or "none"
            raise UnknownExtra(
                f"{decl.name} {decl.version} has no extra {unknown[0]!r} (extras: {offered})"
            )
        new = ({_BASE} | (wanted & set(decl.extras))) - self.extras[name]
        self.extras[name] |= new
        for extra in sorted(new):
            for dep in decl.requirements:
                if not _applies(dep.marker, self.env, extra):
                    continue
                if extra != _BASE and _applies(dep.marker, self.env, _BASE):
                    continue  # already followed through the base dependencies
                self.queue.append((dep, decl))

    def run(self, requested: Sequence[Requirement]) -> Resolution:
        roots: list[NormalizedName] = []
        for req in requested:
            if _applies(req.marker, self.env, _BASE):
                self.queue.append((req, None))
                roots.append(canonicalize_name(req.name))
        while self.queue:
            self.visit(*self.queue.popleft())
        return Resolution(
            tuple(self.chosen[n] for n in self._install_order(roots)),
            {n: frozenset(canonicalize_name(e) for e in x if e) for n, x in self.extras.items()},
            tuple(dict.fromkeys(roots)),
        )

    def _install_order(self, roots: Sequence[NormalizedName]) -> list[NormalizedName]:
        order: list[NormalizedName] = []
        seen: set[NormalizedName] = set()

        def visit(name: NormalizedName) -> None:
            # Recursion depth is the longest dependency chain; cycles stop at `seen`.
            seen.add(name)
            for child in sorted(set(self.edges.get(name, ()))):
                if child not in seen:
                    visit(child)
            order.append(name)

        for root in roots:
            if root not in seen:
                visit(root)
        return order


def resolve(
    declarations: Iterable[Declaration],
    requested: Sequence[Requirement],
    env: Mapping[str, str],
    tags: Sequence[Tag],
    *,
    target: str = "this interpreter",
) -> Resolution:
    """Choose the wheel of every requested project and of its dependency closure.

    ``env`` is a PEP 508 marker environment, ``tags`` the target's tags best first;
    ``target`` only names the target in error messages.

    Raises:
        UnknownProject, NoWheelForPlatform, VersionConflict, UnsatisfiedDependency,
        UnknownExtra: the first problem met, walking breadth-first from the requests.
    """
    return _Walk(declarations, env, tags, target).run(requested)
