"""A history of several weeks for the web page's tests, written through the real Store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from voicecoach import events
from voicecoach.history.store import Store

T0 = datetime(2026, 10, 5, 18, 0, tzinfo=timezone.utc)
SESSIONS = 9  # three a week for three weeks


def fill(path: Path, sessions: int = SESSIONS) -> None:
    """Sessions on Mon/Wed/Fri: perfect reps and the floor grow, a back arched or doming now and then."""
    with Store(path) as store:
        for k in range(sessions):
            when = T0 + timedelta(days=7 * (k // 3) + 2 * (k % 3))
            sid = store.begin_session(started_at=when, config={"program": {"variation": "bent_knee", "reps": 10,
                                                                           "plank_s": 30.0}})
            perfect = 5 + k // 2
            for set_no in (1, 2):
                for n in range(1, 11):
                    counted = n <= perfect
                    marks = () if counted else (("back_arched",) if n % 2 else ("doming",))
                    stop = 0.5 + k * 0.04 if (set_no, n) == (1, 10) else None
                    store.record_rep(sid, events.Rep(t=float(n), set=set_no, rep=n, counted=counted,
                                                     marks=marks + (("stop_point",) if stop else ()),
                                                     descent_s=3.0, stop_point=stop))
                store.record_set(sid, events.SetSummary(t=100.0 * set_no, set=set_no, counted=perfect, attempted=10,
                                                        marks={"back_arched": (10 - perfect + 1) // 2,
                                                               "doming": (10 - perfect) // 2}))
            store.end_session(sid, events.SessionSummary(t=300.0, sets=2, counted=2 * perfect, attempted=20,
                                                         floor=0.5 + k * 0.04, plank_s=20.0 + k, plank_target_s=30.0))
