"""``python -m voicecoach.service config-template``: the Pi installer's starting config."""

import sys

from voicecoach.service.systemd import config_template

if sys.argv[1:] == ["config-template"]:
    sys.stdout.write(config_template())
else:
    print("usage: python -m voicecoach.service config-template", file=sys.stderr)
    sys.exit(2)
