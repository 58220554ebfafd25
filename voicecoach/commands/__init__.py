"""One module per ``voicecoach`` subcommand.

Each module defines ``HELP`` (one line), ``configure(parser)`` and
``main(args) -> int``. Modules are found by :mod:`pkgutil`, so adding a
command is adding a file. Keep the module top level light (no vosk, numpy or
sounddevice imports): every module is imported to build ``--help``.
"""
