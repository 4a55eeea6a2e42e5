"""The coverage section of params.yaml as value objects: dimensions and requirements
(one class per kind of requirement: tf_cli/coverage/requirements.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from tf_cli.coverage.requirements import MinExamples, Requirement, from_params
from tf_cli.errors import ConfigError
from tf_cli.layout import PARAMS_FILE
from tf_cli.problems import Problem
from tf_cli.project import Project


@dataclass(frozen=True)
class Dimension:
    name: str
    sql: str
    buckets: tuple[str, ...] = ()  # every bucket expected, so empty ones show as gaps
    description: str = ""
    # The key path of its SQL in params.yaml (defaults or the signature's own section).
    origin: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class CoverageSpec:
    signature: str
    min_examples: int
    target_examples: int
    dimensions: dict[str, Dimension]
    requirements: tuple[Requirement, ...]


def coverage_specs(params: dict, project: Project) -> list[CoverageSpec]:
    """One spec per signature with a schema; signatures missing from params get defaults.
    Every SQL in it must be one expression over an example (a pull request can change it).
    Read it through `Project.coverage` (parsed once) or `Signature.coverage`."""
    signatures = project.signatures()
    coverage = params.get("coverage", {})
    defaults = coverage.get("defaults", {})
    configured = coverage.get("signatures", {})
    unknown = sorted(set(configured) - set(signatures))
    if unknown:
        raise ConfigError([params_problem(project, ["coverage", "signatures", name],
                                          f'coverage for unknown signature "{name}": no '
                                          "schema for it in schemas/")
                           for name in unknown])
    _refuse_unsafe_sql(project, coverage)
    return [_spec(project, name, defaults, configured.get(name, {})) for name in signatures]


def params_problem(project: Project, where: Sequence[str | int], message: str) -> Problem:
    """A configuration problem at a key path of the params (coverage.yaml's keys start with
    "coverage"): the file it is written in, and the line."""
    from tf_cli.params import problem_at

    if not where:
        return Problem(PARAMS_FILE, message, config=True)
    return problem_at(project, list(where), message)


def _refuse_unsafe_sql(project: Project, coverage: dict) -> None:
    from tf_cli.duck import expression_problem

    places = [(["coverage", "defaults"], coverage.get("defaults", {}))]
    places += [(["coverage", "signatures", name], own)
               for name, own in coverage.get("signatures", {}).items()]
    problems = []
    for where, section in places:
        found = [([*where, "dimensions", name, *([] if isinstance(value, str) else ["sql"])],
                  value if isinstance(value, str) else value["sql"])
                 for name, value in section.get("dimensions", {}).items()]
        found += [([*where, "requirements", index, "where"], raw["where"])
                  for index, raw in enumerate(section.get("requirements", []))
                  if "where" in raw]
        for path, sql in found:
            reason = expression_problem(sql)
            if reason:
                problems.append(params_problem(project, path, f"{reason}: {sql!r}"))
    if problems:
        raise ConfigError(problems)


def _spec(project: Project, name: str, defaults: dict, own: dict) -> CoverageSpec:
    sections = (("coverage", "defaults"), ("coverage", "signatures", name))
    dimensions = {}
    for section, source in zip(sections, (defaults, own), strict=True):
        for dim_name, value in source.get("dimensions", {}).items():
            origin = (*section, "dimensions", dim_name)
            if isinstance(value, str):
                value = {"sql": value}
            else:
                origin = (*origin, "sql")
            dimensions[dim_name] = Dimension(dim_name, value["sql"],
                                             tuple(value.get("buckets", ())),
                                             value.get("description", ""), origin)
    requirements: list[Requirement] = [MinExamples(level="error",
                                                   minimum=own.get("min_examples", 0))]
    listed: list[tuple[tuple[str | int, ...], dict]] = [
        ((*section, "requirements", index), raw)
        for section, source in zip(sections, (defaults, own), strict=True)
        for index, raw in enumerate(source.get("requirements", []))]
    for origin, raw in listed:
        requirement = replace(from_params(raw), origin=origin)
        missing = [d for d in requirement.dimensions_used() if d not in dimensions]
        if missing:
            raise ConfigError([params_problem(
                project, origin, f'{name}: requirement "{requirement.label}" uses dimension '
                f'"{missing[0]}", which is not declared under dimensions')])
        requirements.append(requirement)
    return CoverageSpec(name, own.get("min_examples", 0), own.get("target_examples", 0),
                        dimensions, tuple(requirements))

