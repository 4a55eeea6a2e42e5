"""The coverage section of params.yaml as value objects: dimensions and requirements
(one class per kind of requirement: tf_cli/coverage/requirements.py)."""

from __future__ import annotations

from dataclasses import dataclass

from tf_cli.coverage.requirements import MinExamples, Requirement, from_params
from tf_cli.errors import ConfigError
from tf_cli.params import PARAMS_FILE
from tf_cli.problems import Problem, json_path
from tf_cli.project import Project


@dataclass(frozen=True)
class Dimension:
    name: str
    sql: str
    buckets: tuple[str, ...] = ()  # every bucket expected, so empty ones show as gaps
    description: str = ""


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
        raise ConfigError([Problem(PARAMS_FILE, f'coverage for unknown signature "{name}": '
                                   "no schema for it in schemas/", config=True,
                                   pointer=f"$.coverage.signatures.{name}")
                           for name in unknown])
    _refuse_unsafe_sql(project, coverage)
    return [_spec(name, defaults, configured.get(name, {})) for name in signatures]


def _refuse_unsafe_sql(project: Project, coverage: dict) -> None:
    from tf_cli.duck import expression_problem
    from tf_cli.params import line_of

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
                problems.append(Problem(PARAMS_FILE, f"{reason}: {sql!r}", config=True,
                                        line=line_of(project, path), pointer=json_path(path)))
    if problems:
        raise ConfigError(problems)


def _spec(name: str, defaults: dict, own: dict) -> CoverageSpec:
    dimensions = {}
    for source in (defaults.get("dimensions", {}), own.get("dimensions", {})):
        for dim_name, value in source.items():
            if isinstance(value, str):
                value = {"sql": value}
            dimensions[dim_name] = Dimension(dim_name, value["sql"],
                                             tuple(value.get("buckets", ())),
                                             value.get("description", ""))
    requirements: list[Requirement] = [MinExamples(level="error",
                                                   minimum=own.get("min_examples", 0))]
    listed = [*defaults.get("requirements", []), *own.get("requirements", [])]
    for index, raw in enumerate(listed):
        requirement = from_params(raw)
        missing = [d for d in requirement.dimensions_used() if d not in dimensions]
        if missing:
            origin = (f"coverage.defaults.requirements[{index}]" if index <
                      len(defaults.get("requirements", [])) else
                      f"coverage.signatures.{name}.requirements"
                      f"[{index - len(defaults.get('requirements', []))}]")
            raise ConfigError([Problem(PARAMS_FILE, f'{name}: requirement "{requirement.label}"'
                                       f' uses dimension "{missing[0]}", which is not declared '
                                       "under dimensions", pointer=f"$.{origin}", config=True)])
        requirements.append(requirement)
    return CoverageSpec(name, own.get("min_examples", 0), own.get("target_examples", 0),
                        dimensions, tuple(requirements))

