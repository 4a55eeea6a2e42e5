"""Untrusted YAML (params.yaml from a pull request, files to import) is checked event by
event before anything is built: aliases are refused (a few nested anchors expand into
billions of nodes, "billion laughs"), and so is nesting deeper than any real document, which
would exhaust the stack later."""

from __future__ import annotations

import io

MAX_DEPTH = 64


def yaml_hazard(text: str) -> tuple[int, str] | None:
    """(1-based line, what is wrong) for the first alias or over-deep nesting, else None.
    Syntax errors are left to the loader, which reports them with their line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        MappingEndEvent,
        MappingStartEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    depth = 0
    try:
        # libyaml's event parser (ruamel's C extension; pure Python where it is missing):
        # 20x faster, and iterative, so hostile nesting is read event by event and stopped
        # below at MAX_DEPTH without deep recursion.
        for event in YAML(typ="safe").parse(io.StringIO(text)):
            if isinstance(event, AliasEvent):
                return (event.start_mark.line + 1,
                        f"YAML aliases (*{event.anchor}) are not accepted: write the values out")
            if isinstance(event, MappingStartEvent | SequenceStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return (event.start_mark.line + 1,
                            f"nested more than {MAX_DEPTH} levels deep: flatten it")
            elif isinstance(event, MappingEndEvent | SequenceEndEvent):
                depth -= 1
    except YAMLError:
        return None
    return None
