"""What a pull request can change (params.yaml, schemas, datasets) is untrusted: it must not
make tf read or write outside the repository, run anything, or leak a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import fixture_project_at, run_tf

SECRET_FILE_TEXT = "top-secret-line-7f3a"


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A project with the fixture data, and a file outside it that must stay unread."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_FILE_TEXT + "\n")
    return fixture_project_at(tmp_path / "repo"), secret


def with_dimension(project: Path, sql: str) -> None:
    """Add a dimension to validate_intent with this SQL, as a pull request could."""
    path = project / "params.yaml"
    text = path.read_text()
    anchor = "    validate_intent:\n      min_examples: 20\n      target_examples: 50\n" \
             "      dimensions:\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + f"        probe:\n          sql: {sql}\n"))


@pytest.mark.parametrize("sql, reason", [
    ("\"(SELECT content FROM read_text('{secret}'))\"", "a subquery (SELECT ...) is not allowed"),
    ("\"1) FROM read_text('{secret}') --\"", "not one SQL expression"),
    ("\"1); COPY (SELECT 1) TO '{out}'; SELECT (1\"", "not one SQL expression: a second "
                                                     "statement"),
    ("\"1); ATTACH '{out}' AS x; SELECT (1\"", "not one SQL expression"),
    ("\"1); INSTALL httpfs; SELECT (1\"", "not one SQL expression"),
])
def test_coverage_sql_must_be_one_expression(hostile, sql: str, reason: str):
    project, secret = hostile
    out = project / "written-by-sql.txt"
    with_dimension(project, sql.format(secret=secret, out=out))
    for command in (["check"], ["coverage", "--format", "json"], ["status"]):
        result = run_tf(*command, cwd=project)
        assert result.exit_code == 2, (command, result)
        assert "params.yaml:" in result.stderr and reason in result.stderr
        assert "$.coverage.signatures.validate_intent.dimensions.probe.sql" in result.stderr
        assert SECRET_FILE_TEXT not in result.stdout + result.stderr
    assert not out.exists()
    line = int(result.stderr.split("params.yaml:", 1)[1].split(":", 1)[0])
    assert "probe" in (project / "params.yaml").read_text().splitlines()[line - 2]


def test_every_duckdb_connection_is_a_sandbox(hostile):
    """SQL typed on the command line is the user's own, yet it still reads only the data."""
    project, secret = hostile
    result = run_tf("sample", "-s", "validate_intent", "--where",
                    f"(SELECT count(*) FROM read_text('{secret}')) > 0", cwd=project)
    assert result.exit_code == 2
    assert "file system operations are disabled" in result.stderr
    assert SECRET_FILE_TEXT not in result.stdout + result.stderr
