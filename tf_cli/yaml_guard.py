"""Untrusted YAML (params.yaml from a pull request, files to import) is checked event by
event before anything is built: aliases are refused (a few nested anchors expand into
billions of nodes, "billion laughs"), and so is nesting deeper than any real document, which
would exhaust the stack later."""

from __future__ import annotations

import io

MAX_DEPTH = 64


def yaml_hazard(text: str) -> tuple[int, str] | None:
    """(1-based line, what is wrong) for the first alias, over-deep nesting or a %YAML
    directive other than 1.2, else None. Syntax errors are left to the loader, which
    reports them with their line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        # libyaml's event parser first (ruamel's C extension): 20x faster than ruamel's
        # own, and iterative, so hostile nesting is read event by event and stopped at
        # MAX_DEPTH without deep recursion.
        return _scan(YAML(typ="safe").parse(io.StringIO(text)))
    except YAMLError:
        pass
    try:
        # libyaml refused the text, but ruamel's pure-Python parser, which some loaders
        # use, accepts more (unknown directives, "{a:b}", U+2028 in a scalar): what it
        # would build must be scanned with it, or an alias bomb walks through.
        return _scan(YAML(typ="safe", pure=True).parse(io.StringIO(text)))
    except YAMLError:
        return None  # a syntax error: the loader reports it, with its line


def _scan(events) -> tuple[int, str] | None:
    from ruamel.yaml.events import (
        AliasEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    depth = 0
    for event in events:
        if isinstance(event, DocumentStartEvent) and event.version not in (None, (1, 2)):
            # YAML 1.1 reads "010" as 8 and "no" as false; tf reads YAML 1.2.
            version = ".".join(map(str, event.version))
            return (event.start_mark.line + 1,
                    f"a %YAML {version} directive: tf reads YAML 1.2; remove the directive")
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
    return None
