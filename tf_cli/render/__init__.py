"""Reporters: result objects in, text out. Nothing else in tf formats a result for people.

Core functions (tf_cli/*.py, tf_cli/coverage/, tf_cli/pipeline/) compute and return result
objects; each has `to_json()` for `--format json`. The modules here turn the same objects
into plain text, Markdown and Rich tables. Commands (tf_cli/commands/) call a core function,
pick a reporter by --format and write what it returns through tf_cli.console, the only
module that prints.

    check.py     tf check: text lines and the pull-request Markdown
    coverage.py  tf coverage: Rich tables and Markdown
    diff.py      tf diff: text and Markdown
    tables.py    Rich tables of tf status and tf log
    generate.py  the summaries of tf generate and tf bootstrap
    html.py      tf report's page (and the summary stage's copy)
"""
