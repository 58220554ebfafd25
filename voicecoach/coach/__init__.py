"""The coach: the leg-lift program (:mod:`.program`) and the pure workout state machine (:mod:`.session`)."""

from voicecoach.coach.session import Session, estimate_seconds
from voicecoach.events import Cancel

__all__ = ["Cancel", "Session", "estimate_seconds"]
