"""tf prune: retire examples by params.yaml's lifecycle policies, or restore retired ones."""

from __future__ import annotations

from typing import Annotated

import typer

from tf_cli import console
from tf_cli.commands import common
from tf_cli.commands.common import SignatureOption, TextOrJson, TextOrJsonFormat, print_json
from tf_cli.errors import UsageError
from tf_cli.words import plural


def command(
    signature: SignatureOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what the policies would "
                                          "retire, and why; change nothing.")] = False,
    restore: Annotated[list[str] | None, typer.Option(
        "--restore", metavar="ID", help="Move this retired example back to the file it came "
        "from, as it was (repeat for more).")] = None,
    list_retired: Annotated[bool, typer.Option("--retired", help="List the retired examples "
                                               "with the reason and date.")] = False,
    commit: Annotated[bool, typer.Option("--commit/--no-commit", help="Commit the moved "
                                         "lines, and nothing else, as one commit.")] = True,
    output_format: TextOrJsonFormat = TextOrJson.text,
) -> None:
    """Retire examples that params.yaml's lifecycle policies name (maximum age per source,
    minimum quality, maximum per cell, harmful in N effect runs in a row) to
    datasets/<sig>/retired.jsonl, with the reason and date, as one commit. Nothing is
    deleted: --restore ID moves one back."""
    from tf_cli import prune

    project = common.project()
    names = [project.require_signature(signature)] if signature else project.signatures()
    if restore and (dry_run or list_retired):
        raise UsageError("--restore moves examples: it takes neither --dry-run nor --retired")
    if restore:
        done = prune.restore(project, list(restore), commit)
        if output_format is TextOrJson.json:
            print_json({"restored": [{"signature": s, "id": i, "file": f} for s, i, f in done]})
            return
        for name, example_id, file_name in done:
            console.out(f"restored {example_id} to datasets/{name}/{file_name}")
        console.note(f"{plural(len(done), 'example')} restored"
                     + (" and committed" if commit else ""))
        return
    if list_retired:
        found = prune.retired(project, names)
        if output_format is TextOrJson.json:
            print_json({"retired": found})
            return
        for item in found:
            console.out(f"{item['signature']} {item['id']} (from {item['from']}, "
                        f"{item['date']}): {item['reason']}")
        console.note(f"{plural(len(found), 'retired example')}")
        return
    planned, held = prune.hold_back(project, prune.plan(project, names))
    if not dry_run and planned:
        prune.retire(project, planned, commit)
    if output_format is TextOrJson.json:
        print_json({"dry_run": dry_run, "retire": [item.to_json() for item in planned],
                    "held_back": [kept_back.to_json() for kept_back in held]})
        return
    verb = "would retire" if dry_run else "retired"
    for retirement in planned:
        console.out(f"{verb} {retirement.signature} {retirement.id} ({retirement.file}): "
                    f"{'; '.join(retirement.reasons)}")
    for kept_back in held:
        console.note(f"held back: retiring {plural(kept_back.examples, 'example')} of "
                     f"{kept_back.signature} would fail tf check "
                     f"({'; '.join(kept_back.failing)}); add examples there first, or loosen "
                     "the lifecycle policies")
    if held and not planned:
        return
    if not planned:
        console.note("nothing to retire: no example breaks a lifecycle policy in params.yaml")
    elif dry_run:
        console.note(f"{plural(len(planned), 'example')} would be retired; run tf prune to "
                     "move them to retired.jsonl")
    else:
        console.note(f"{plural(len(planned), 'example')} moved to retired.jsonl"
                     + (" and committed" if commit else ""))
