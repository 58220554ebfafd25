"""``voicecoach serve``: the headless coach (what the Raspberry Pi service runs).

Waits with the microphone open for "start workout" (the recognizer runs only
while something louder than the room is heard, see :mod:`voicecoach.service.wake`),
plays a chime, and coaches one session through :class:`voicecoach.runtime.Runtime`
on :class:`voicecoach.audio.resilient.ResilientIO` (device loss: pause, retry, resume).
"stop workout" ends the session like any other. Then it reloads the config
(if the file changed) and waits again.

Under systemd (``Type=notify``) it reports ``READY=1`` once it listens, a
status line, and watchdog pings while its audio loop turns; without
``$NOTIFY_SOCKET`` all of that is silent. Log lines go to stderr (the journal).
"""

from __future__ import annotations

import argparse
import sys
import time

HELP = 'wait with the microphone open for "start workout", then coach a session (the Pi service)'

WAKE_INTENTS = ("start_workout",)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="config TOML, re-read before each session (default: the user's config, if any)")
    parser.add_argument("--db", metavar="FILE", help="history database (default: $VOICECOACH_DB or the data dir)")
    parser.add_argument("--sessions", metavar="N", type=int, default=0,
                        help="exit after N sessions (default 0: serve forever)")
    parser.add_argument("--idle-exit", metavar="S", type=float, default=0.0,
                        help="exit after waiting S seconds for the wake phrase (default 0: never)")
    parser.add_argument("--no-enrollment", action="store_true",
                        help="ignore the voice enrollment (voicecoach enroll), to compare")
    parser.add_argument("--quiet", action="store_true",
                        help="no live view of a session: log only its commands, reps and problems")


def release_session_memory() -> None:
    """Give back what a finished session held (clips, recognizer, streams) before idling again.

    Measured (bench null sinks, 1-set session stopped after 10 s): idle RSS was
    206 MB before the first session and 225 MB after it, the session's own
    figure: freed memory stayed in malloc's heaps (malloc_trim alone: 214 MB),
    part of it behind reference cycles the collector had not reached yet (both:
    212 MB).
    """
    import gc

    from voicecoach.service import memory

    gc.collect()
    memory.trim()


def log(line: str) -> None:
    print(f"voicecoach serve: {line}", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    from voicecoach.errors import UserError

    if args.sessions < 0 or args.idle_exit < 0:
        raise UserError("--sessions and --idle-exit must not be negative")
    # SIGTERM (systemctl stop) takes Ctrl-C's path (see voicecoach.stopping): the
    # runtime closes the session in progress, every finished rep saved, before we exit.
    server = Server(args)
    try:
        return server.run()
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        server.close()


class Server:
    """The serve loop; one per process. See the module doc."""

    def __init__(self, args: argparse.Namespace):
        from voicecoach.service.systemd import Notifier, Watchdog

        self.args = args
        self.notifier = Notifier()
        interval = self.notifier.watchdog_interval
        self.guard = None
        self.mic = None
        self.turns = 0
        # Pings stop when the loop has not turned for 80% of WatchdogSec: slow
        # steps (a session preparing its clips on a Pi) are not hangs.
        self.watchdog = Watchdog(self.notifier, progress=self._turns,
                                 stale_after=interval * 1.6 if interval else None)
        self.sessions = 0
        self._config = None
        self._config_key = None
        self._grammar = None
        self._grammar_key = None
        self._said_no_mic = False
        self.view = None

    def _turns(self):
        guard = self.guard  # another thread may clear it between two reads
        return (self.turns, guard.turns if guard is not None else None)

    def close(self) -> None:
        self.notifier.stopping("stopping")
        self.watchdog.stop()
        if self.guard is not None:
            self.guard.stop()
        if self.mic is not None:
            self.mic.stop()

    # --- config ---------------------------------------------------------------------------

    def config(self) -> dict:
        """The config, re-read if its file changed; a bad edit keeps the last good one."""
        from voicecoach import config as config_mod, paths
        from voicecoach.errors import UserError

        path = self.args.config or str(paths.config_file())
        try:
            import os

            st = os.stat(path)
            key = (path, st.st_mtime_ns, st.st_size)
        except OSError:
            key = (path, None, None)
        if key == self._config_key and self._config is not None:
            return self._config
        if key[1] is None and self.args.config and self._config is None:
            raise UserError(f"{path}: config file not found")
        try:
            cfg = config_mod.load(path) if key[1] is not None else config_mod.defaults()
            if self._config is not None:
                log(f"config reloaded from {path}")
            elif key[1] is None:
                log(f"no config file at {path}; using the defaults")
            self._config = cfg
        except UserError as err:
            if self._config is None:
                self._config = config_mod.defaults()
            log(f"config error, keeping the {'defaults' if self._config_key is None else 'last good config'}: {err}")
        self._config_key = key
        return self._config

    def grammar(self, model, cfg: dict):
        from voicecoach.speech.grammar import load_grammar

        from voicecoach.errors import UserError

        key = cfg["speech"]["grammar"] or None
        if self._grammar is None or key != self._grammar_key:
            try:
                self._grammar = load_grammar(key, model=model)
            except UserError as err:
                if key is None:
                    raise  # the shipped grammar itself is broken: nothing to fall back to
                log(f"grammar error, using the default grammar: {err}")
                self._grammar = self._grammar or load_grammar(None, model=model)
            self._grammar_key = key
        return self._grammar

    def enrollment(self):
        """The person's enrollment as stored now (``voicecoach enroll`` while serving
        takes effect at the next wait); a damaged file is logged and ignored, as the
        service has no one to ask."""
        from voicecoach.commands import load_enrollment
        from voicecoach.errors import UserError

        try:
            return load_enrollment(not getattr(self.args, "no_enrollment", False))
        except UserError as err:
            log(f"enrollment not used: {err}")
            return None

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> int:
        from voicecoach.model import load_model

        self.config()  # a config that cannot be read at all fails before the model loads
        t0 = time.monotonic()
        self.notifier.status("loading the speech model")
        model = load_model()
        log(f"model loaded in {time.monotonic() - t0:.1f} s")
        self.watchdog.start()
        while True:
            cfg = self.config()
            grammar = self.grammar(model, cfg)
            self.warm_clips(cfg)
            heard = self.wait_for_wake(model, grammar, cfg)
            if heard is None:
                log("no wake phrase heard; exiting (--idle-exit)")
                return 0
            self.coach(model, grammar, cfg)
            self.sessions += 1
            release_session_memory()
            if self.args.sessions and self.sessions >= self.args.sessions:
                return 0

    def wait_for_wake(self, model, grammar, cfg: dict):
        """Listen until a wake intent is heard (returns it) or ``--idle-exit`` passes (None).

        Only the microphone is open while waiting (see :class:`~voicecoach.audio.standalone.Microphone`);
        the chime opens the speaker for a moment. A microphone that is missing or
        goes away is looked for again with back-off, saying so once.
        """
        from voicecoach.errors import UserError
        from voicecoach.audio.recovery import Backoff
        from voicecoach.audio.devices import refresh_devices
        from voicecoach.audio.standalone import Microphone
        from voicecoach.service.wake import WakeListener

        wake = WakeListener(model, grammar, intents=WAKE_INTENTS, enrollment=self.enrollment())
        backoff, attempt = Backoff(first_s=1.0, factor=2.0, max_s=30.0), 0
        started = time.monotonic()
        idle_exit = self.args.idle_exit

        def expired() -> bool:
            return bool(idle_exit) and time.monotonic() - started >= idle_exit

        while not expired():
            try:
                mic = Microphone(cfg["audio"]["input_device"]).start()
            except UserError as err:
                if not self._said_no_mic:
                    self._said_no_mic = True
                    log(f"no microphone: {err}")
                    self.notifier.ready("no microphone; waiting for one to be plugged in")
                    self._say(cfg, "I can't find a microphone. Plug one in and I'll listen for start workout.")
                self._sleep(backoff.delay(attempt))
                attempt += 1
                refresh_devices()
                continue
            self.mic = mic
            if self._said_no_mic:
                log("microphone found")
            self._said_no_mic, attempt = False, 0
            log(f"listening for 'start workout' (microphone {mic.device.name!r} at {mic.rate} Hz)")
            self.notifier.ready("waiting for 'start workout'")
            self.notifier.status("waiting for 'start workout'")
            wake.reset()
            try:
                while not expired():
                    got = mic.read(timeout=0.5)
                    self.turns += 1
                    if got is None:
                        if not mic.alive:
                            log("the microphone stopped delivering audio; opening it again")
                            break
                        continue
                    for heard in wake.feed(*got):
                        log(f"heard {heard.text!r} (confidence {heard.confidence:.2f})")
                        mic.stop()
                        self._chime(cfg)
                        return heard
            finally:
                mic.stop()
                self.mic = None
            self._sleep(backoff.delay(attempt))
            attempt += 1
            refresh_devices()
        return None

    def warm_clips(self, cfg: dict) -> None:
        """Render the program's phrases into the clip cache in the background while waiting,
        so that a session starts with a warm cache (seconds saved on a Pi, every time the
        config's voice, rate or program changes)."""
        import threading

        key = (repr(cfg["speech"]), repr(cfg["program"]))
        if key == getattr(self, "_warmed", None):
            return
        self._warmed = key

        def work() -> None:
            from voicecoach.service import memory
            from voicecoach.audio.wavio import ESPEAK_RATE
            from voicecoach.coach import program as P
            from voicecoach.speech.voice import Voice

            t0 = time.monotonic()
            try:
                # The disk cache keeps espeak-ng's own renders, whatever the output rate.
                # Only the disk: a clip loaded here would sit in memory while serve idles
                # (and, freed, leave this thread's malloc heap fragmented).
                voice = Voice(ESPEAK_RATE, cfg["speech"])
                try:
                    phrases = P.phrases(cfg["program"])
                    for done in voice.prepare_async(phrases):
                        done.result()
                finally:
                    voice.close()
                log(f"{len(phrases)} cue phrases ready in the clip cache ({time.monotonic() - t0:.1f} s)")
            except Exception as err:  # only a head start: the session renders what is missing
                log(f"could not prepare the cue phrases ahead: {err}")
            memory.trim()  # rendering's temporary arrays are free now: give them back while idle

        threading.Thread(target=work, name="voicecoach-warm-clips", daemon=True).start()

    def _sleep(self, seconds: float) -> None:
        """Sleep, keeping the watchdog fed (waiting for a device is not a hang)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.turns += 1
            time.sleep(min(0.5, max(end - time.monotonic(), 0.0)))

    def _chime(self, cfg: dict) -> None:
        from voicecoach.audio import tones
        from voicecoach.audio.standalone import play_once

        play_once(cfg["audio"], lambda rate: tones.earcon("chime", rate), log=log)

    def _say(self, cfg: dict, text: str) -> None:
        from voicecoach.audio.standalone import play_once

        def clip(rate: int):
            from voicecoach.speech.tts import ClipCache

            cache = ClipCache(rate, voice=cfg["speech"]["voice"], rate=cfg["speech"]["rate"])
            try:
                return cache.get(text)
            finally:
                cache.close()

        play_once(cfg["audio"], clip, log=log)

    def coach(self, model, grammar, cfg: dict) -> None:
        """One session on resilient live audio, from the plan to the summary."""
        from voicecoach import runtime, view
        from voicecoach.commands import open_store
        from voicecoach.audio.resilient import DeviceGone, ResilientIO
        from voicecoach.speech.recognizer import CommandRecognizer
        from voicecoach.speech.voice import Voice

        self.notifier.status("coaching a session")
        self.guard = guard = ResilientIO(cfg["audio"], log=log)
        voice = Voice(guard.samplerate, cfg["speech"])
        guard.say = voice.speech.get
        recognizer = None
        if not guard.cue_only:
            try:
                recognizer = CommandRecognizer(model, grammar, provisional=True, enrollment=self.enrollment())
            except Exception as err:  # a recognizer bug must not cost the workout
                log(f"speech recognition unavailable ({err}); coaching cue-only")
        store, store_error = open_store(self.args.db, cfg)
        if store_error:
            log(store_error)
        # The live view on a terminal; in the journal, its plain lines go where the log goes.
        self.view = view.make_view(self.args.quiet, write=log)
        rt = runtime.Runtime(cfg, guard, recognizer=recognizer, store=store,
                             timing=runtime.LIVE, simulated=False, voice=voice, on_event=self._on_event,
                             store_error=store_error, view=self.view)
        try:
            if self.view is not None:
                self.view.start()
            result = rt.run()
            s = result.summary
            if s is not None:
                log(f"session {s.status}: {s.counted} of {s.attempted} reps counted in {s.sets} set(s)")
        except DeviceGone as err:
            log(f"session ended: {err}")
        finally:
            if self.view is not None:
                self.view.stop()
                self.view = None
            if store is not None:
                store.close()
            guard.stop()
            self.guard = None
            if guard.xruns and any(guard.xruns.values()):
                log(f"audio under/overruns: {guard.xruns}")

    def _on_event(self, event) -> None:
        from voicecoach.events import Command, Notice, Rep

        if isinstance(event, Notice):
            if self.view is None or event.level != "info":  # the view says the info ones
                log(event.text)
        elif self.view is not None:
            return  # the view says the rest
        elif isinstance(event, Command):
            log(f"command {event.intent} ({event.text!r})")
        elif isinstance(event, Rep):
            log(f"set {event.set} rep {event.rep}: {'counted' if event.counted else 'not counted'}"
                + (f" ({', '.join(event.marks)})" if event.marks else ""))
