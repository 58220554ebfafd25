from voicecoach import stopping

stopping.install()  # before the command modules load: a stop signal meanwhile is noted, not fatal

from voicecoach.cli import entry  # noqa: E402

entry()
