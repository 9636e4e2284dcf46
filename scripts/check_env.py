"""Fail when the installed environment does not satisfy ``flowodm[dev]`` as pyproject.toml says.

The bootstrap runs this right after installing requirements/dev.lock, so a pyproject.toml edit
that the lock does not follow (a raised bound, a new dependency, a new extra of a dependency)
stops there with the fix, instead of as an ImportError somewhere in the test suite. Every
requirement is followed through its extras and markers, transitively.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT_REQUIREMENT = "flowodm[dev]"


def unmet(root: str = ROOT_REQUIREMENT) -> list[str]:
    """Every requirement reachable from ``root`` that the installed packages do not meet."""
    problems: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(Requirement(root), "")]
    while pending:
        requirement, wanted_by = pending.pop()
        wanted = str(requirement).split(";")[0]  # the marker already held
        name = str(canonicalize_name(requirement.name))
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{wanted} (needed by {wanted_by or 'the project'}) is missing")
            continue
        version = distribution.version
        # Every requirement's range is checked, even of a package already walked: two
        # dependents may ask different ranges of it.
        if not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{wanted} (needed by {wanted_by or 'the project'}): {version}")
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        for spec in distribution.requires or []:
            child = Requirement(spec)
            if child.marker is None or any(
                child.marker.evaluate({"extra": extra}) for extra in requirement.extras or {""}
            ):
                pending.append((child, f"{name} {version}"))
    return sorted(problems)


def main() -> int:
    problems = unmet()
    for problem in problems:
        print(f"flowodm: not satisfied: {problem}", file=sys.stderr)
    if problems:
        print(
            "flowodm: requirements/dev.lock no longer matches pyproject.toml; "
            "run scripts/lock --keep and commit the lock",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
