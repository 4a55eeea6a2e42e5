"""The canonical round trip, through the tf_cli.records API, with generated records."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tf_cli.fmt import format_files
from tf_cli.project import Project
from tf_cli.records import read_lines, write_records

# JSON values orjson round-trips exactly: 64-bit integers, finite doubles, any Unicode text.
scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
records = st.lists(st.dictionaries(st.text(max_size=10), values, max_size=6), max_size=8)


@settings(max_examples=60, deadline=None)  # each writes and fsyncs a file
@given(records=records)
def test_write_then_read_gives_the_same_records(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("rt") / "x.jsonl"
    write_records(path, records)
    lines = list(read_lines(path))
    assert all(line.problem is None and line.canonical for line in lines)
    assert [line.record for line in lines] == records
    assert path.read_bytes().count(b"\n") == len(records)


@settings(max_examples=50, deadline=None)
@given(records=records, spaced=st.booleans(), crlf=st.booleans())
def test_fmt_is_idempotent_and_keeps_every_record(tmp_path_factory, records, spaced, crlf):
    import json

    root = tmp_path_factory.mktemp("fmt")
    path = root / "datasets" / "sig" / "x.jsonl"
    path.parent.mkdir(parents=True)
    ending = "\r\n" if crlf else "\n"
    # Hand-written style: unsorted keys, escaped Unicode, maybe spaces and CRLF.
    separators = (", ", ": ") if spaced else (",", ":")
    text = "".join(json.dumps(r, separators=separators) + ending for r in records)
    path.write_text(text, encoding="utf-8", newline="")
    project = Project(Path(root))
    first = format_files(project)
    assert first.problems == []
    once = path.read_bytes()
    second = format_files(project)
    assert second.changed == [] and path.read_bytes() == once
    assert [line.record for line in read_lines(path)] == records
