"""voicecoach: an offline, hands-free voice coach for leg lifts."""

__version__ = "0.1.0"
