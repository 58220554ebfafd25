"""Audio at the edge of the coach: clips, the sample-clock scheduler, streams,
and live devices that may go away.

- :mod:`voicecoach.audio.clips`: :class:`Clip`, mono float32 sound at a rate.
- :mod:`voicecoach.audio.tones`: synthesised ticks and earcons.
- :mod:`voicecoach.audio.scheduler`: :class:`Scheduler`, mixes clips placed at
  exact output sample indexes; its ``render`` is the output callback's work.
- :mod:`voicecoach.audio.streams`: :class:`AudioIO` with :class:`LiveIO`
  (sounddevice) and :class:`SimulatedIO` (WAV in, WAV out, faster than real time).
- :mod:`voicecoach.audio.wavio`: WAV reading/writing and resampling for Vosk.
- :mod:`voicecoach.audio.devices`: device listing (afresh after a replug) and lookup by name or index.
- :mod:`voicecoach.audio.resilient`: :class:`ResilientIO`, live streams that
  survive a microphone or speaker going away (the ``AudioIO`` of ``run`` and ``serve``).
- :mod:`voicecoach.audio.recovery`: what to do when one goes, a sans-IO policy.
- :mod:`voicecoach.audio.standalone`: the microphone and the speaker on their own,
  outside a session (``serve`` waiting for the wake phrase, ``enroll``).

The submodules are imported on demand so that importing this package stays
cheap (the CLI imports every command module to build ``--help``).
"""
