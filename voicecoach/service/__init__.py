"""The coach as a service on the Pi, and the checks that it can run there.

- :mod:`voicecoach.service.systemd`: readiness, status and a watchdog for systemd.
- :mod:`voicecoach.service.wake`: waiting for "start workout" with the CPU almost idle.
- :mod:`voicecoach.service.memory`: handing freed memory back between sessions.
- :mod:`voicecoach.service.doctor`: ``voicecoach doctor``, is this machine ready to coach.

``python -m voicecoach.service config-template`` prints the installer's config.
"""
