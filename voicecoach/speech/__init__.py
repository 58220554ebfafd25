"""Speech in and out: :mod:`voicecoach.speech.tts` renders phrases to clips.

Submodules are imported on demand (they pull in numpy, pyttsx3 or vosk).
"""
