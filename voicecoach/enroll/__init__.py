"""Enrollment: one person's recorded takes, kept, and taken through the microphone.

- :mod:`voicecoach.enroll.file`: the enrollment file (takes and what was chosen
  from them; versioned, atomic, 0600).
- :mod:`voicecoach.enroll.live`: the coach asks for each phrase and records it.

What an enrollment changes in the recognizer is :mod:`voicecoach.speech.enrollment`.
"""
