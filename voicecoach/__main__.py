from voicecoach.cli import entry

entry()
