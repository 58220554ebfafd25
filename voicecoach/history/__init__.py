"""The history: what was done, kept, and what the coach makes of it.

- :mod:`voicecoach.history.store`: :class:`Store`, every session, set, rep, mark
  and command in SQLite.
- :mod:`voicecoach.history.progression`: the advice, pure functions of the history.
- :mod:`voicecoach.history.report`: the text summary and the PNG chart.
"""
