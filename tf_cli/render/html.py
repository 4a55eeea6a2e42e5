"""The curator's report as one self-contained HTML page: no script, no font, no image file,
no request of any kind (a Content-Security-Policy of default-src 'none' makes the browser
refuse one), so it renders the same from a laptop's disk, a CI artifact or a mail.

Charts are inline SVG and CSS built here. Every value from the repository (ids, bucket
names, SQL-derived buckets, reasons) is text a pull request controls: all of it goes through
html.escape. The numbers a test reads carry `data-key` attributes (tests/docs/test_report.py
compares them with `tf coverage --format json`).
"""

from __future__ import annotations

from html import escape

from tf_cli.effect import HARMFUL, LOW_VALUE
from tf_cli.report import Report, SignatureReport
from tf_cli.words import is_number, plural

CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#1f2328;
padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid
#d0d7de;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px solid #d0d7de;
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#656d76}.bar{background:#54aeff;height:10px;display:inline-block}
.neg{background:#ff8182}.ok{color:#1a7f37}.fail{color:#cf222e}.warn{color:#9a6700}
.heat td.n{min-width:44px;text-align:center}
.grid{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
nav a{margin-right:12px}code{font-size:12px}
"""


def page(report: Report) -> str:
    names = [s.name for s in report.signatures]
    parts = [f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
             f"<title>tf report</title><style>{STYLE}</style></head><body>",
             "<h1>tf report</h1>",
             f'<p class="muted">Generated {escape(report.generated_at)}'
             + (f" at commit <code>{escape(report.commit)}</code>" if report.commit else "")
             + f" · {plural(len(names), 'signature')}</p>",
             "<nav>" + "".join(f'<a href="#{_anchor(n)}">{escape(n)}</a>' for n in names)
             + "</nav>", _overview(report)]
    parts += [_signature(s) for s in report.signatures]
    parts.append("</body></html>")
    return "\n".join(parts)


def _overview(report: Report) -> str:
    rows = []
    for s in report.signatures:
        cov = s.coverage
        ready = ('<span class="ok">ready</span>' if cov.ready else
                 f'<span class="fail">not ready: {escape(cov.not_ready_because or "")}</span>')
        rows.append(
            f"<tr><td>{escape(s.name)}</td>"
            f"{_num(s.name, 'examples', cov.examples)}{_num(s.name, 'target', cov.target_examples)}"
            f"<td>{ready}</td>{_num(s.name, 'pending', cov.pending)}"
            f"{_num(s.name, 'rejected', cov.rejected)}"
            f"{_num(s.name, 'synthetic_share', f'{cov.synthetic_share:.0%}')}"
            f"{_num(s.name, 'gaps', len(cov.gaps))}"
            f"{_num(s.name, 'optimized_score', _score(s.optimized_score))}"
            f"{_num(s.name, 'to_retire', len(s.to_retire))}{_num(s.name, 'retired', s.retired)}"
            "</tr>")
    return ("<h2>Overview</h2><table><tr><th>signature</th><th>examples</th><th>target</th>"
            "<th>status</th><th>pending review</th><th>rejected</th><th>synthetic</th>"
            "<th>gaps</th><th>optimized dev score</th><th>tf prune would retire</th>"
            "<th>retired</th></tr>" + "".join(rows) + "</table>")


def _signature(s: SignatureReport) -> str:
    return "\n".join([f'<section id="{_anchor(s.name)}"><h2>{escape(s.name)}</h2>',
                      _coverage(s), _gaps(s), _queue(s), _history(s), _effect(s),
                      _lifecycle(s), "</section>"])


def _coverage(s: SignatureReport) -> str:
    cov = s.coverage
    out = ["<h3>Coverage: counted examples per bucket</h3>", '<div class="grid">']
    for dimension, counts in cov.dimensions.items():
        top = max(counts.values(), default=0) or 1
        rows = "".join(
            f"<tr><td>{escape(str(bucket))}</td>"
            f"{_num(s.name, f'bucket:{dimension}={bucket}', count)}"
            f'<td><span class="bar" style="width:{round(120 * count / top)}px"></span></td></tr>'
            for bucket, count in counts.items())
        out.append(f"<table><tr><th colspan=3>{escape(dimension)}</th></tr>{rows}</table>")
    out.append("</div>")
    for result in cov.requirements:
        if result.cells:
            out.append(_heatmap(s.name, result.label, result.cells,
                                int(result.expected), result.passed, result.level))
    return "\n".join(out)


def _heatmap(name: str, label: str, cells, minimum: int, passed: bool, level: str) -> str:
    """A grid requirement's cells: rows by its first dimension, columns by its second, one
    table per bucket of its third, if any (a grid has 2 or 3: tf_cli/params.schema.json).
    Short cells are marked."""
    dimensions = list(cells[0][0])
    first, second = dimensions[:2]
    top = max((count for _, count in cells), default=0) or 1
    status = "ok" if passed else ("fail" if level == "error" else "warn")
    out = [f'<h3>Grid: {escape(label)} <span class="{status}">'
           f"{'ok' if passed else status.upper()}</span></h3>", '<div class="grid">']
    pages: dict[tuple, list] = {}
    for cell, count in cells:
        key = tuple(cell[d] for d in dimensions[2:])
        pages.setdefault(key, []).append((cell, count))
    for key, members in pages.items():
        rows = list(dict.fromkeys(c[first] for c, _ in members))
        columns = list(dict.fromkeys(c[second] for c, _ in members))
        counts = {(c[first], c[second]): (c, n) for c, n in members}
        title = ", ".join(f"{d} = {b}" for d, b in zip(dimensions[2:], key, strict=True))
        head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
        body = []
        for row in rows:
            tds = []
            for column in columns:
                cell, count = counts[(row, column)]
                style = ("background:#ffcecb" if count < minimum else  # short of examples
                         f"background:rgba(84,174,255,{0.1 + 0.8 * count / top:.2f})")
                tds.append(f'<td class="n" style="{style}" data-sig="{escape(name)}" '
                           f'data-grid="{escape(label)}" '
                           f'data-key="cell:{escape(_cell_key(cell))}">{count}</td>')
            body.append(f"<tr><th>{escape(str(row))}</th>{''.join(tds)}</tr>")
        corner = escape(f"{first} \\ {second}")
        out.append(f"<table class=heat>{f'<caption>{escape(title)}</caption>' if title else ''}"
                   f"<tr><th>{corner}</th>{head}</tr>{''.join(body)}</table>")
    out.append("</div>")
    return "\n".join(out)


def _gaps(s: SignatureReport) -> str:
    gaps = s.coverage.gaps
    if not gaps:
        return "<h3>Gaps</h3><p>None: every requirement is met.</p>"
    items = "".join(f'<li><span class="{"fail" if g.level == "error" else "warn"}">'
                    f"{escape(g.level)}</span> {plural(g.need, 'more example')} "
                    f"({escape(g.place)}; {escape(g.requirement)})</li>" for g in gaps[:50])
    more = f"<p class=muted>and {len(gaps) - 50} more</p>" if len(gaps) > 50 else ""
    return f"<h3>Gaps ({len(gaps)})</h3><ul>{items}</ul>{more}"


def _queue(s: SignatureReport) -> str:
    if not s.pending:
        return "<h3>Review queue</h3><p>Nothing waits for review.</p>"
    rows = "".join(f"<tr><td><code>{escape(str(p['id']))}</code></td>"
                   f"<td>{escape(str(p['file']))}</td><td>{escape(str(p['source']))}</td>"
                   f"<td>{escape(str(p['created_at']))}</td></tr>"
                   for p in s.pending[:50])
    more = f"<p class=muted>and {len(s.pending) - 50} more</p>" if len(s.pending) > 50 else ""
    return (f"<h3>Review queue ({len(s.pending)}, oldest first): "
            f"<code>tf review --signature {escape(s.name)}</code></h3>"
            "<table><tr><th>id</th><th>file</th><th>source</th><th>created</th></tr>"
            f"{rows}</table>{more}")


def _history(s: SignatureReport) -> str:
    rows = s.history
    if not rows:
        return "<h3>History</h3><p>No commits touch this signature's data yet.</p>"
    out = [f"<h3>History ({plural(len(rows), 'commit')})</h3>", '<div class="grid">',
           _line_chart("examples", [r.examples for r in rows], None),
           _line_chart("optimized dev score (%)",
                       [r.optimized_score for r in rows], 100.0), "</div>"]
    table = "".join(f"<tr><td><code>{escape(r.commit)}</code></td><td>{escape(r.date[:10])}"
                    f"</td><td class=n>{r.examples}</td><td class=n>{_score(r.optimized_score)}"
                    f"</td><td class=n>{_score(r.baseline_score)}</td>"
                    f"<td>{escape(r.subject[:80])}</td></tr>" for r in reversed(rows[-10:]))
    out.append("<table><tr><th>commit</th><th>date</th><th>examples</th><th>optimized</th>"
               f"<th>baseline</th><th>subject</th></tr>{table}</table>")
    return "\n".join(out)


def _line_chart(title: str, values: list, top: float | None) -> str:
    """An SVG line over the commits (oldest left); a commit with no value is skipped."""
    width, height, pad = 360, 120, 24
    known = [(i, v) for i, v in enumerate(values) if is_number(v)]
    if not known:
        return (f'<figure><figcaption>{escape(title)}</figcaption>'
                '<p class="muted">not recorded yet</p></figure>')
    high = top or max(v for _, v in known) or 1
    step = (width - 2 * pad) / max(1, len(values) - 1)
    points = " ".join(f"{pad + i * step:.1f},{height - pad - (height - 2 * pad) * v / high:.1f}"
                      for i, v in known)
    return (f'<figure><figcaption>{escape(title)}: last {_score(known[-1][1])}</figcaption>'
            f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
            'stroke="#d0d7de"/>'
            f'<polyline fill="none" stroke="#0969da" stroke-width="2" points="{points}"/>'
            f'<text x="{pad}" y="14" font-size="11">{_score(high)}</text>'
            f'<text x="{pad}" y="{height - 6}" font-size="11">0</text></svg></figure>')


def _effect(s: SignatureReport) -> str:
    found = s.effect
    out = ["<h3>Which examples help</h3>"]
    if not found.evaluated:
        reason = found.reason or "the effect stage has not run yet"
        out.append(f"<p>Not measured: {escape(reason)}.</p>")
    else:
        out.append(f'<p>Dev score with every demo: <b data-key="effect:dev_score" '
                   f'data-sig="{escape(s.name)}">{_score(found.dev_score)}</b>. Effect: the '
                   "score with the bucket's (or the demo's) examples minus the score without "
                   "them, in percent points.</p>")
        out.append(_effect_rows(s.name, "bucket", [
            (f"{b['dimension']}={b['bucket']}", b["effect"], None, b.get("demos"))
            for b in found.buckets()]))
        out.append(_effect_rows(s.name, "demo", [
            (str(d.get("id")), d["effect"], d.get("flag"), None) for d in found.demos()],
            found))
    if found.chosen:
        rows = "".join(f"<tr><td><code>{escape(i)}</code></td><td class=n>{n} of {found.runs}"
                       "</td></tr>" for i, n in found.chosen.most_common(15))
        out.append(f"<p>Chosen as a demo across {plural(found.runs, 'recorded run')} "
                   "(git history and DVC experiments):</p>"
                   f"<table><tr><th>example</th><th>runs</th></tr>{rows}</table>")
    return "\n".join(out)


def _effect_rows(name: str, kind: str, rows: list, found=None) -> str:
    if not rows:
        return ""
    top = max(abs(effect) for _, effect, _, _ in rows) or 1
    body = []
    for label, effect, flag, demos in rows:
        streak = found.harmful_streak.get(label, 0) if found is not None else 0
        mark = {HARMFUL: '<span class="fail">harmful</span>',
                LOW_VALUE: '<span class="warn">low value</span>'}.get(flag, "")
        if streak > 1:
            mark += f" ({streak} runs in a row)"
        bar = (f'<span class="bar{" neg" if effect < 0 else ""}" '
               f'style="width:{round(100 * abs(effect) / top)}px"></span>')
        extra = (f"<td class=n>{escape(str(demos))}</td>" if demos is not None
                 else f"<td>{mark}</td>")
        body.append(f"<tr><td><code>{escape(label)}</code></td>"
                    f'<td class="n" data-key="effect:{kind}:{escape(label)}" '
                    f'data-sig="{escape(name)}">{effect:+.1f}</td><td>{bar}</td>{extra}</tr>')
    last = "demos" if kind == "bucket" else "flag"
    return (f"<table><tr><th>{kind}</th><th>effect</th><th></th><th>{last}</th></tr>"
            f"{''.join(body)}</table>")


def _lifecycle(s: SignatureReport) -> str:
    out = ["<h3>Lifecycle</h3>"]
    if s.age_days:
        rows = "".join(f"<tr><td>{escape(source)}</td><td class=n>{a['examples']}</td>"
                       f"<td class=n>{a['median_days']}</td><td class=n>{a['oldest_days']}</td>"
                       "</tr>" for source, a in s.age_days.items())
        out.append("<table><tr><th>source</th><th>counted</th><th>median age (days)</th>"
                   f"<th>oldest (days)</th></tr>{rows}</table>")
    if s.to_retire:
        rows = "".join(f"<tr><td><code>{escape(r.id)}</code></td><td>{escape(r.file)}</td>"
                       f"<td>{escape('; '.join(r.reasons))}</td></tr>" for r in s.to_retire[:50])
        out.append(f"<p><code>tf prune</code> would retire {plural(len(s.to_retire), 'example')}"
                   f":</p><table><tr><th>id</th><th>file</th><th>why</th></tr>{rows}</table>")
    else:
        out.append("<p>No example breaks a lifecycle policy (params.yaml: lifecycle).</p>")
    out.append(f"<p>{plural(s.retired, 'example')} retired (datasets/{escape(s.name)}/"
               "retired.jsonl; <code>tf prune --retired</code> lists them).</p>")
    return "\n".join(out)


def _num(name: str, key: str, value) -> str:
    return (f'<td class="n" data-sig="{escape(name)}" data-key="{escape(key)}">'
            f"{escape(str(value))}</td>")


def _cell_key(cell: dict[str, str]) -> str:
    return "|".join(f"{d}={b}" for d, b in cell.items())


def _anchor(name: str) -> str:
    return "sig-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def _score(value) -> str:
    """A score or count from a report (reports/ is in git: any JSON value may be there)."""
    return f"{value:g}" if is_number(value) else "-"
