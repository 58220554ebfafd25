"""``voicecoach web``: a read-only page over the history, for a phone on the same network.

- :mod:`.reader` opens the history read-only (it never writes, even while a
  session is being recorded);
- :mod:`.view` turns the history into what the page shows;
- :mod:`.svg` draws the charts on the server (no JavaScript on the device);
- :mod:`.pages` writes the HTML; :mod:`.server` serves it with the token check
  and strict headers.
"""
