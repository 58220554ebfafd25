"""Reports over the history: a text summary and an optional PNG chart.

Both take ``history`` as :meth:`voicecoach.history.store.Store.sessions` gives it
(oldest first). Only sessions with at least one rep attempted are charted;
the text lists every session with its status so that interrupted ones show.
matplotlib is an optional extra (``pip install 'voicecoach[report]'``) and is
imported only by :func:`write_png`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from voicecoach.history import progression
from voicecoach.errors import UserError

ANNOTATE_MAX = 20
"""Up to this many points get their own value label and marker on the chart."""

TEXT_SESSIONS = 20
TEXT_WEEKS = 12
"""The text report lists at most this many recent sessions and weeks."""

MATPLOTLIB_MISSING = "the PNG report needs matplotlib: pip install 'voicecoach[report]' (or pip install matplotlib)"


def local_start(session: dict) -> datetime:
    """When the session started, in local time."""
    return progression.started(session).astimezone()


def percent(share: float | None) -> str:
    return "-" if share is None else f"{round(share * 100)}%"


def weekly(history: list[dict]) -> list[tuple[date, int, int]]:
    """``(monday, sessions, perfect reps)`` per week with a training session, oldest first."""
    weeks: dict[date, list[int]] = {}
    for session in progression.trained(history):
        day = local_start(session).date()
        monday = day - timedelta(days=day.weekday())
        entry = weeks.setdefault(monday, [0, 0])
        entry[0] += 1
        entry[1] += session.get("counted") or 0
    return [(monday, n, reps) for monday, (n, reps) in sorted(weeks.items())]


def text_summary(history: list[dict], program: dict, now: datetime) -> str:
    """The ``voicecoach report`` text: weeks, sessions, floor, the suggestion."""
    if not history:
        return "No sessions recorded yet.\n" + _suggestion(history, program, now)
    weeks = weekly(history)
    lines = ["Sessions per week (two or three is the plan)"]
    if len(weeks) > TEXT_WEEKS:
        lines.append(f"  ({len(weeks) - TEXT_WEEKS} earlier weeks not shown)")
    for monday, n, reps in weeks[-TEXT_WEEKS:]:
        lines.append(f"  week of {monday:%Y-%m-%d}: {n} session{'s' if n != 1 else ''}, {reps} perfect reps")
    lines += ["", "Perfect reps per session"]
    if len(history) > TEXT_SESSIONS:
        lines.append(f"  ({len(history) - TEXT_SESSIONS} earlier sessions not shown; see voicecoach history)")
    for s in history[-TEXT_SESSIONS:]:
        variation = progression.NAMES.get(s.get("variation") or "", s.get("variation") or "?")
        status = "" if s["status"] == "completed" else f"  ({s['status']})"
        lines.append(
            f"  {local_start(s):%Y-%m-%d %H:%M}  {s.get('counted') or 0:>3}/{s.get('attempted') or 0:<3} "
            f"{variation}{status}"
        )
    floors = [s for s in history if s.get("floor") is not None]
    lines += ["", "Floor over time (how far down the lowering goes before the back lifts)"]
    if floors:
        if len(floors) > TEXT_SESSIONS:
            lines.append(f"  ({len(floors) - TEXT_SESSIONS} earlier not shown)")
        for s in floors[-TEXT_SESSIONS:]:
            lines.append(f"  {local_start(s):%Y-%m-%d}  {percent(s['floor'])}")
    else:
        lines.append("  no stop point marked yet")
    planks = [s for s in history if s.get("plank_s") is not None]
    if planks:
        lines += ["", "Plank holds (held of planned seconds)"]
        for s in planks[-TEXT_SESSIONS:]:
            target = s.get("plank_target_s")
            lines.append(f"  {local_start(s):%Y-%m-%d}  {s['plank_s']:g} s" + (f" of {target:g}" if target else ""))
    lines += ["", _suggestion(history, program, now)]
    return "\n".join(lines)


def _suggestion(history: list[dict], program: dict, now: datetime) -> str:
    greeting, advice = progression.plan_for_today(history, program, now)
    return "\n".join(["Suggestion for the next session", f"  {greeting}"] + [f"  {a.sentence}" for a in advice if a.sentence])


def write_png(history: list[dict], path: Path | str) -> Path:
    """Chart perfect reps (top) and floor (bottom) per session against the date.

    Raises :class:`UserError` when matplotlib is missing, nothing has been
    trained yet, or the file cannot be written.
    """
    fig = figure(history)  # first: it reports a missing matplotlib
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        fig.savefig(path)
    except OSError as err:
        raise UserError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        plt.close(fig)
    return path


def figure(history: list[dict]):
    """The chart as a matplotlib Figure (the caller closes it); see :func:`write_png`."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display on the Pi
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise UserError(MATPLOTLIB_MISSING) from None
    sessions = progression.trained(history)
    if not sessions:
        raise UserError("nothing to plot yet: no session with a rep recorded")
    # Naive local datetimes: matplotlib labels them as the user reads a calendar.
    when = [local_start(s).replace(tzinfo=None) for s in sessions]
    perfect = [s.get("counted") or 0 for s in sessions]
    attempted = [s.get("attempted") or 0 for s in sessions]
    floor_when = [w for w, s in zip(when, sessions) if s.get("floor") is not None]
    floors = [s["floor"] * 100 for s in sessions if s.get("floor") is not None]

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 6.5), dpi=110, constrained_layout=True)
    fig.suptitle("Leg lifts: progress over time", fontsize=14)
    marker = "" if len(when) > ANNOTATE_MAX * 2 else "o"
    top.plot(when, attempted, marker + "--", color="0.6", label="reps attempted")
    top.plot(when, perfect, marker + "-", color="tab:blue", linewidth=2, label="perfect reps")
    top.set_ylabel("reps per session")
    top.set_ylim(0, max(attempted + perfect + [1]) * 1.25)
    top.legend(loc="best")
    top.grid(True, alpha=0.3)
    top.set_title("Perfect reps per session", fontsize=11, loc="left")

    if floors:
        dense = len(floors) > ANNOTATE_MAX
        bottom.plot(floor_when, floors, "-" if dense else "s-", color="tab:green", linewidth=2,
                    label="floor (stop point)")
        # Every value when they fit; on a long history only the latest.
        for x, y in list(zip(floor_when, floors))[-1 if dense else 0:]:
            bottom.annotate(f"{y:.0f}%", (x, y), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    else:
        bottom.text(0.5, 0.5, "no stop point marked yet", transform=bottom.transAxes, ha="center", color="0.4")
    bottom.set_ylim(0, 105)
    bottom.set_ylabel("floor (% of the lowering)")
    bottom.set_title("Floor: how far down before the back lifts (higher is deeper)", fontsize=11, loc="left")
    bottom.grid(True, alpha=0.3)

    if len(when) == 1 or (max(when) - min(when)) < timedelta(days=2):
        pad = timedelta(days=1)
        bottom.set_xlim(min(when) - pad, max(when) + pad)
    # Whole days on the date axis, day and month on every tick (the default
    # locator puts hourly ticks on a short history, all labelled the same day;
    # ConciseDateFormatter leaves the month to an offset naming one month).
    low, high = (mdates.num2date(x) for x in bottom.get_xlim())
    span = (high - low).days
    if span <= 10:
        locator = mdates.DayLocator()
    elif span <= 70:
        locator = mdates.WeekdayLocator(byweekday=mdates.MO, interval=max(1, -(-span // 56)))
    else:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=9)
    years = sorted({w.year for w in when})
    bottom.xaxis.set_major_locator(locator)
    if span > 180:
        fmt = "%b %Y"  # month ticks: the day would always read 01
    else:
        fmt = "%d %b" if len(years) == 1 else "%d %b %Y"
    bottom.xaxis.set_major_formatter(mdates.DateFormatter(fmt))
    bottom.set_xlabel(f"date ({years[0]})" if len(years) == 1 else "date")
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
