"""The HTML: the home page (plan, advice, charts, sessions) and one session's sets and reps."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from voicecoach.history import report
from voicecoach.web import svg, view

STYLE = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#666;--grid:#ddd;--c0:#1f6fb4;--c1:#9a9a9a;--c2:#c0392b;--c3:#2e8b57}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#eee;--muted:#aaa;--grid:#333;--c0:#6cb4ff;--c1:#8a8a8a;--c2:#ff7b6b;--c3:#5fd39a}}
body{background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:760px;padding:12px}
h1{font-size:1.35em;margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}
.plan{border-left:4px solid var(--c0);padding:.2em .8em}.muted{color:var(--muted)}
figure{margin:1em 0}figcaption{font-weight:600}.chart{width:100%;height:auto}
.grid{stroke:var(--grid)}.axis{fill:var(--muted);font-size:11px}
.line{fill:none;stroke-width:2}.s0{stroke:var(--c0);fill:var(--c0);background:var(--c0)}
.s1{stroke:var(--c1);fill:var(--c1);background:var(--c1)}.s2{stroke:var(--c2);fill:var(--c2);background:var(--c2)}
.s3{stroke:var(--c3);fill:var(--c3);background:var(--c3)}.line.s0,.line.s1,.line.s2,.line.s3{fill:none}
.legend{font-size:.9em}.key{margin-right:1em;white-space:nowrap}.key i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}
table{border-collapse:collapse;width:100%;font-size:.92em}td,th{padding:.3em .4em;border-bottom:1px solid var(--grid);text-align:left}
a{color:var(--c0)}td:first-child{white-space:nowrap}
"""


def _page(title: str, body: str) -> str:
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>")


def _link(path: str, token: str | None) -> str:
    return path + (f"?token={quote(token)}" if token else "")


def home(data: view.Overview, token: str | None) -> str:
    plan = data.plan
    advice = "".join(f"<li>{escape(a)}</li>" for a in plan.advice)
    parts = ["<h1>Leg lifts: progress</h1>",
             '<section class="plan"><h2>Next session</h2>',
             f"<p>{plan.sets} sets of {plan.reps} {escape(plan.variation)}</p>",
             f'<p id="greeting">{escape(plan.greeting)}</p>',
             f'<ul id="advice">{advice}</ul></section>' if advice else "</section>"]
    if not data.points:
        parts.append('<p id="empty">No sessions recorded yet. Your first session will show here.</p>')
        return _page("voicecoach", "".join(parts))
    labels = [f"{p.when:%d %b}" for p in data.points]
    floors = [None if p.floor is None else round(p.floor * 100) for p in data.points]
    parts.append(svg.lines("Floor: how far down before the back lifts (higher is deeper)", labels,
                           [("floor", floors)], y_max=100, y_unit="%"))
    parts.append(svg.lines("Reps per session", labels, [("perfect", [p.counted for p in data.points]),
                                                        ("attempted", [p.attempted for p in data.points])]))
    week_labels = [f"{monday:%d %b}" for monday, *_ in data.weeks]
    parts.append(svg.bars("Reps per week", week_labels, [("perfect", [w[2] for w in data.weeks]),
                                                         ("attempted", [w[3] for w in data.weeks])]))
    parts.append(svg.bars("Marks per session", labels,
                          [(m.replace("_", " "), [p.marks[m] for p in data.points]) for m in view.MARKS]))
    if any(p.plank_s is not None for p in data.points):
        parts.append(svg.lines("Plank hold", labels, [("held", [p.plank_s for p in data.points]),
                                                      ("planned", [p.plank_target_s for p in data.points])],
                               y_unit=" s"))
    year = report.local_start(data.sessions[0]).year
    rows = "".join(_session_row(s, token, year) for s in data.sessions)
    parts.append(f'<h2>Sessions</h2><table id="sessions"><tr><th>date</th><th>exercise</th><th>perfect</th>'
                 f"<th>floor</th></tr>{rows}</table>")
    return _page("voicecoach", "".join(parts))


def _session_row(s: dict, token: str | None, year: int) -> str:
    href = escape(_link(f"/session/{s['id']}", token))
    when = report.local_start(s)
    # Four short columns fit 360 px: the year only when it is not the latest's, the status only when unusual.
    day = f"{when:%d %b}" if when.year == year else f"{when:%d %b %Y}"
    status = "" if s["status"] == "completed" else f' <span class="muted">({escape(s["status"].replace("_", " "))})</span>'
    return (f'<tr><td><a href="{href}">{day}</a></td><td>{escape(view.variation_name(s))}{status}</td>'
            f"<td>{s.get('counted') or 0}/{s.get('attempted') or 0}</td><td>{report.percent(s.get('floor'))}</td></tr>")


def session(s: dict, token: str | None) -> str:
    head = (f'<p><a href="{escape(_link("/", token))}">&larr; all sessions</a></p>'
            f"<h1>{report.local_start(s):%Y-%m-%d %H:%M}: {escape(view.variation_name(s))}</h1>"
            f"<p>{s.get('counted') or 0} of {s.get('attempted') or 0} perfect, floor {report.percent(s.get('floor'))}, "
            f"{escape(s['status'])}</p>")
    if s.get("plank_s") is not None:
        target = s.get("plank_target_s")
        head += f"<p>Plank: held {s['plank_s']:g} s" + (f" of {target:g}" if target else "") + "</p>"
    body = [head]
    for st in s["sets"]:
        rows = "".join(
            f"<tr><td>{r['rep']}</td><td>{'perfect' if r['counted'] else 'not counted'}</td>"
            f"<td>{escape(', '.join(m.replace('_', ' ') for m in r['marks']))}</td>"
            f"<td>{'' if r['descent_s'] is None else format(r['descent_s'], '.1f') + ' s'}</td>"
            f"<td>{report.percent(r['stop_point']) if r['stop_point'] is not None else ''}</td></tr>"
            for r in st["reps"])
        label = "warm-up" if st["set"] == 0 else f"Set {st['set']}"
        body.append(f"<h2>{label}: {st['counted']}/{st['attempted']}</h2><table class=reps><tr><th>rep</th>"
                    f"<th>result</th><th>marks</th><th>lowering</th><th>stop point</th></tr>{rows}</table>")
    if not s["sets"]:
        body.append("<p>No reps recorded in this session.</p>")
    return _page("voicecoach session", "".join(body))


def message(title: str, text: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")
