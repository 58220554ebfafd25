"""The coach: the leg-lift program (:mod:`.program`) and the pure workout state machine (:mod:`.session`)."""

from voicecoach.coach.session import Cancel, Session, estimate_seconds

__all__ = ["Cancel", "Session", "estimate_seconds"]
