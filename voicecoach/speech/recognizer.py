"""Streaming command recognition: microphone blocks in, :class:`~voicecoach.events.Heard` out.

Sans-IO: :class:`CommandRecognizer` never touches a device or a clock. The
caller feeds int16 mono 16 kHz blocks (20-100 ms, as a live stream delivers
them) with the block's time on the microphone timeline, and, while the coach
is talking, what the speaker played over the same span (the far end for echo
cancellation)::

    rec = CommandRecognizer(model, load_grammar(model=model))
    for block, t, played in stream:
        for heard in rec.feed(block, t, played):
            ...
    rest = rec.finish()

How it rejects what is not a command (a closed Vosk grammar otherwise turns
any noise into a phrase at confidence ~1, vosk-api issues 741, 874, 1339):

- the decoder's language model holds, besides the phrases (alone and after
  a filler), ``[unk]`` and distractor words (the coach's cue vocabulary and numbers, minus
  near-homophones of command words), so other speech and the coach's voice
  have somewhere else to go;
- an utterance is a command only when it is, exactly, up to two fillers and
  one phrase, with no ``[unk]``; utterances are split where the words pause;
- every phrase word must reach ``min_confidence`` (Vosk's lattice posterior,
  meaningful once the decoder has alternatives);
- a command is said on its own: voiced sound that is not echo just after the
  phrase makes it the start of a sentence ("pause the music please"), and
  voice running right up to it for longer than a filler the end of one, even
  when the decoder passed over the other words as silence (before a control,
  where no filler is expected, a syllable of voice is enough); a command is
  final only once ``run_on_s`` after it has been heard and decoded without
  the voice going on, the decoder hearing another word there, or the last
  word running on in an /s/ ("that help[s]"; a recognizer
  built with ``provisional=True`` emits it before that as provisional, and
  takes it back with a :class:`~voicecoach.events.Withdrawn` if it runs on);
- the person's voice does not sound between the words (the decoder passes
  over a word it has no place for: "good [next] rep");
- a word the model lacks, spelled with several ("doe ming"), is said as one;
- optionally (off by default, it cost more true commands than it saved), a
  second, open-vocabulary decode of the same audio must contain the phrase.

The coach's own voice (barge-in): blocks come with the reference of what
the speaker played. A linear echo canceller (:mod:`voicecoach.speech.echo`)
removes most of the echo without touching the person's words, and WebRTC's
AEC3, run beside it, judges for every 10 ms which share of the power is
echo. Words that are mostly echo separate utterances and never count, so
"stop point" said over "two one thousand" is heard, and the coach saying
"find your stop point" is not. Without pywebrtc-audio (or with
``echo_canceller=False``), nothing heard while the coach is audible counts
(half-duplex fallback).

Latency: Vosk's own endpointing waits 0.5-1 s of silence. So when the
partial result ends in a phrase's last word and the signal has been quiet
(within a few dB of the noise floor, a low percentile of the last seconds)
for ``end_silence_s``, or unvoiced (breathing, noise) for ``end_unvoiced_s``,
the utterance is finalised at once; ``steady_s`` is the fallback when
neither comes. The model is loaded with a shorter network chunk
(:data:`voicecoach.model.DECODING_OPTIONS`) so that the partial result
keeps up with the words. That is when a provisional command comes out; the
final one follows ``run_on_s`` and ``decoder_lag_s`` (plus a little slack)
after the words.

Compute: after ``idle_after_s`` with no voice of the person's the decoder
rests (silence, breathing and noise are never commands); the next voiced
sound wakes it, and it goes on where it stopped with the lead-in it has not
had, so that most of a session is never decoded. Sound it had before a skip
is judged on its own first.
Times in :class:`Heard` are on the mic timeline given to :meth:`feed`.
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from dataclasses import dataclass

import numpy as np

from voicecoach.events import Heard, Withdrawn
from voicecoach.speech.echo import FRAME, EchoGate, FrontEnd, aec_available
from voicecoach.speech import rules
from voicecoach.speech.grammar import Grammar
from voicecoach.speech.vocabulary import distractors

UNK = "[unk]"
_RING = 1000  # 10 s of 10 ms frames
_WORD_TIME_SLACK_S = 0.08  # Vosk's word times are off by a few frames: context windows keep this far away
_MOSTLY_ECHO = 0.5  # a frame whose power is at least this share echo is the coach's, not the person's
_MIN_VOICED_RUN = 3  # 10 ms frames: a vowel is voiced throughout; breath noise passes for voiced in ones and twos
_VOICING_BREAK = 2  # 10 ms frames: a word's voicing may drop out this long and still be one stretch
# A frame hisses when its 4-8 kHz band is this many dB over its 0.1-3 kHz band
# (measured: /s/ +10..+17 dB, vowels -20..-37 dB; pink noise is about -7 dB).
_HISS_DB = 10.0
# Computed once, not per block: the recognizer takes 16 kHz audio only (see __init__).
_HISS_WINDOW = np.hanning(FRAME)
_HISS_FREQS = np.fft.rfftfreq(FRAME, 1.0 / 16000)
_HISS_HIGH_BAND = _HISS_FREQS >= 4000
_HISS_LOW_BAND = (_HISS_FREQS >= 100) & (_HISS_FREQS < 3000)


@dataclass
class RecognizerSettings:
    """Tuning knobs; the defaults were chosen on generic rules, not on test audio."""

    min_confidence: float = 0.60
    """Lowest per-word confidence accepted for the words of a phrase."""
    end_silence_s: float = 0.2
    """Quiet time after a complete phrase before it is emitted (fast path). Shorter
    takes the first word of a sentence for a command: "resume [p]laying the song"
    has 0.15 s of quiet in the p (on the dev corpus: 0.15 -> 0.2 s, latency p95
    238 -> 278 ms, stream false accepts 12 -> 10 per hour)."""
    end_unvoiced_s: float = 0.25
    """... or this long with no voiced sound (breathing and noise are not voiced; a
    sentence that goes on after the phrase is: "pause the music"). The unvoiced
    start of a next word can pass for breath ("only perfect rep . s count");
    tried and dropped: also waiting 0.25 s after a new sound that follows a
    gap took both of those out of the bench's 60-min stream (8 -> 6 per hour),
    but raised latency p95 over the corpus from 278 to 303 ms, as breathing
    after a command waited too."""
    steady_s: float = 0.6
    """A complete phrase unchanged in the partial result this long is emitted even if
    neither quiet nor unvoiced (the decoder shows new words up to ~0.3 s late)."""
    pause_s: float = 0.3
    """Quiet time after any sound before the utterance is finalised and judged."""
    isolation_s: float = 0.2
    """Anything decoded (not echo) ending less than this before a phrase makes it no command."""
    context_s: float = 0.4
    """Just after a phrase, over this long, ..."""
    context_voiced_share: float = 0.3
    """... more than this share of voiced frames that are not echo means the phrase
    starts a longer sentence, and is no command."""
    run_on_s: float = 0.6
    """A command is settled only when this long after its words has been heard
    (it is emitted before that only as provisional): ..."""
    run_on_voiced_s: float = 0.1
    """... and voice of the person's adding up to this long in it (a syllable;
    only stretches of 30 ms or more count) takes the command back. The check
    above sees only the moment the phrase is emitted; slow speakers leave longer
    gaps between words ("resume [0.26 s] playing the song", "they say again
    [and again]"). On scripts/bench_recognizer.py's 60-min stream this took
    false accepts from 8 to 4 per hour. Counting every voiced frame instead of
    stretches, breath noise took back 10 of the 504 true commands at 20 dB
    breathing (96.4 -> 94.2 %); with stretches, 2."""
    run_on_words: bool = True
    """... and so does a word the decoder hears starting in it (not a filler,
    not echo): quiet speech can be under the voicing detector and still be
    heard as words ("repeat [after me]", 5 frames of "after me" voiced, was
    decoded as "repeat", then "the" 0.4 s later). On 3 h of negative stream
    from seeds the rules were not chosen on (20-25), false accepts went from 7
    to 5, and on scripts/bench_recognizer.py's negative clips from 3 to 2 of
    894; its accuracy figures stayed the same. Off only to measure it."""
    suffix_hiss_s: tuple[float, float] = (0.04, 0.25)
    """A hiss (an /s/) of the person's, between these two lengths, that starts as
    the phrase's last word ends makes that word another one: "help[s]",
    "perfect rep[s count]". A hiss longer than that is breath, and none at all
    (0, 0) turns the rule off. The grammar has no "helps" or "reps", so the
    decoder hears the phrase, and the voice that follows can be too short to
    count ("count" gave 90 ms voiced). On 3 h of negative stream from seeds
    20-25 this took false accepts from 5 to 2; on the dev subset of
    clean and 5 dB clips, accuracy moved within the decoder's run-to-run
    spread (clean 496 -> 496 of 504, 5 dB 1280 -> 1281 of 1512)."""
    decoder_lag_s: float = 0.3
    """The decoder shows a word up to this long after it is said ("the" above
    came into the partial result 0.18 s after its end), so when anything
    sounded after a command, it is settled this long after its ``run_on_s``
    has been heard; after silence it is not kept waiting (a stop point's
    floor must reach the next lowering)."""
    split_gap_s: float = 0.35
    """A pause this long between words splits an utterance in two."""
    lead_in_s: float = 0.6
    """Just before a phrase and its fillers, over this long, ..."""
    lead_in_voiced_share: float = 0.5
    """... more than this share of voiced frames that are not echo means the phrase
    ends a sentence whose first words the decoder passed over ("they say again
    and again that it [help]s"). The window is longer than a filler the
    decoder may have missed ("uh"), so that one alone does not reach the share."""
    control_lead_in_s: float = 0.3
    """A control follows no voice of the person's: ``run_on_voiced_s`` of it (a
    syllable) in this long before the control's voiced onset means the decoder
    passed over the word it ended as silence ("[let's] start the workout"). On
    scripts/bench_recognizer.py's 60-min stream this took false accepts from 2
    to 1 per hour, and it changed no true command on the dev subset. Marks are
    let through: there the word passed over is most often a filler ("[uh]
    doming"), and a mark cannot be said again later; with marks included, the
    rule cost 12 of the dev subset's true marks with fillers."""
    spelled_gap_s: float = 0.1
    """A word the model lacks, spelled with several ("doe ming" for doming), is
    one word: a pause longer than this inside it means other words were heard
    as its parts ("the phone is ringing" came out as "doe ... ming"; in the dev
    corpus's true "doming" the gap was at most 0.06 s)."""
    vad_margin_db: float = 6.0
    """A 10 ms frame this far above the noise floor counts as sound."""
    voicing_threshold: float = 0.5
    """A sound frame counts as voiced when its normalised autocorrelation peaks at
    least this high at a pitch of 80-400 Hz (vowels ~0.7-0.95; breath, pink noise < 0.35)."""
    floor_window_s: float = 3.0
    """The noise floor is judged over this much recent audio ..."""
    floor_percentile: float = 10.0
    """... as this percentile of its 30 ms levels."""
    verify: bool = False
    """Confirm each candidate with an open-vocabulary decode of its audio (the
    model's full language model). Off: measured on the dev corpus it rejected
    more true commands than it saved false ones (see scripts/bench_recognizer.py --verify)."""
    distractor_sets: tuple[str, ...] = ("coach", "numbers")
    """Which :mod:`~voicecoach.speech.vocabulary` word sets the decoder may choose instead."""
    noise_suppression: int | None = 1
    """WebRTC noise suppression level 0-3 before decoding, or None for none."""
    aec: str = "linear"
    """``"linear"`` (keeps words spoken over the coach intact) or ``"webrtc"`` (AEC3)."""
    echo_margin_db: float = -20.0
    """A word heard while the coach talks counts only when the part of its power
    that is not echo (as AEC3 judges it) is at least this many dB of the whole."""
    idle_after_s: float = 1.0
    """After this long with no voiced sound of the person's the decoder rests until
    the next voiced sound (it costs most of the compute, and most of a session is
    quiet or breathing. On scripts/bench_recognizer.py's one stream with breathing,
    the real-time factor was 0.032, against 0.056 when only silence let it rest;
    the accuracy tables moved by at most 0.1 point)."""
    preroll_s: float = 0.5
    """Audio from just before a sound that is decoded with it when the decoder wakes."""
    max_utterance_s: float = 8.0
    """Audio kept for the second pass; longer utterances are not confirmed."""


@dataclass(frozen=True)
class Explained:
    """One verdict on words the decoder produced (times on the mic timeline)."""

    start: float
    end: float
    words: str
    """Each word with its confidence, ``"stop:0.93 point:0.88"``."""
    verdict: str
    """``"command"``, or why not: a rule's name
    (:mod:`voicecoach.speech.rules`), ``"not a phrase"``, ``"[unk] among the words"``
    or ``"not on its own"`` (it follows other words)."""


class CommandRecognizer:
    """Grammar-constrained streaming recognizer with out-of-grammar rejection.

    Args:
        model: a loaded ``vosk.Model`` (see :func:`voicecoach.model.load_model`).
        grammar: the commands (:func:`voicecoach.speech.grammar.load_grammar`).
        samplerate: must be 16000 (convert with
            :func:`voicecoach.audio.wavio.to_16k_int16` first).
        echo_canceller: cancel the echo of blocks that come with a reference
            (linear canceller, AEC3 as judge); when False or pywebrtc-audio is
            missing, ignore what is heard while the reference is audible.
        provisional: also emit each command as soon as its words are heard,
            as a :class:`Heard` with ``final=False``; the final one, or a
            :class:`~voicecoach.events.Withdrawn`, follows once
            ``run_on_s`` after the words has been heard. Without it only
            final commands come out, that much later.
        settings: :class:`RecognizerSettings` (defaults are the tested ones).

    Not thread-safe: one instance per audio stream, fed from one thread.
    """

    def __init__(
        self,
        model,
        grammar: Grammar,
        *,
        samplerate: int = 16000,
        echo_canceller: bool = True,
        provisional: bool = False,
        settings: RecognizerSettings | None = None,
    ):
        if samplerate != 16000:
            raise ValueError("CommandRecognizer takes 16 kHz audio; resample first (wavio.to_16k_int16)")
        import vosk

        self.model = model
        self.grammar = grammar
        self.samplerate = samplerate
        self.settings = settings or RecognizerSettings()
        self.provisional = provisional
        self._slack_n = int(_WORD_TIME_SLACK_S * samplerate)  # context windows keep this far from a word's time
        self._vosk = vosk
        if self.settings.verify and getattr(model, "grammar_only", False):
            raise ValueError("verify decodes without a grammar: load the model with load_model(grammar_only=False)")
        own = set(grammar.words())
        extra = [w for w in distractors(exclude=own, sets=self.settings.distractor_sets) if model.vosk_model_find_word(w) >= 0]
        self.decoder_sentences: tuple[str, ...] = decoder_sentences(grammar, extra)
        """What the decoder's language model is estimated from (see :func:`decoder_sentences`)."""
        self._grammar_json = json.dumps(list(self.decoder_sentences))
        self._last_words = {p.split()[-1] for p in grammar.phrases}
        self._spellings = [spelled.split() for _, spelled in grammar.sounds_like if len(spelled.split()) > 1]
        self._want_aec = echo_canceller and aec_available()
        self._front = FrontEnd(
            samplerate,
            aec=self.settings.aec if self._want_aec else None,
            noise_suppression=self.settings.noise_suppression,
        )
        self._gate = EchoGate()
        self._rec = None
        self._free = None  # open-vocabulary decoder for the optional second pass
        self.trace: list[str] | None = None
        """Set to a list to collect every decoded utterance (for tuning and debugging)."""
        self.explain: list[Explained] | None = None
        """Set to a list to collect every candidate the decoder produced and its verdict
        (``voicecoach recognize --explain``)."""
        self.reset()

    # -- public API ----------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything heard so far (a new stream starts with the next block)."""
        self._rec = self._new_decoder()
        self._front.reset()
        self._gate.reset()
        self._frame_pow = np.zeros(_RING)  # per 10 ms frame of decoded audio: its power
        self._frame_echo = np.zeros(_RING)  # and the share of that power that is echo
        self._frame_voiced = np.zeros(_RING, dtype=bool)  # and whether it was voiced
        self._frame_hiss = np.zeros(_RING, dtype=bool)  # and whether it hissed (an /s/)
        self._n_in = 0  # samples received
        self._n_dec = 0  # samples given to the decoder
        self._utt_start = 0  # decoder sample index where the current utterance began
        self._anchors: deque[tuple[int, float]] = deque(maxlen=4096)
        self._audio: deque[np.ndarray] = deque()  # decoded audio of the current utterance
        self._audio_len = 0
        self._audio_start = 0
        self._levels = np.zeros(int(self.settings.floor_window_s * 100))  # smoothed dB per 10 ms frame
        self._level_count = 0
        self._last_loud = -1  # decoder sample index after the last loud frame
        self._last_voiced = -1  # ... and after the last voiced one
        self._emphasised_tail = np.zeros(2 * FRAME, dtype=np.float32)  # context for the voicing windows
        self._last_sample = 0.0
        self._last_partial = ""
        self._partial_since = 0
        self._last_word_end = -1e9  # decoder seconds where the last real word heard ended
        self._smooth = deque([-100.0, -100.0], maxlen=2)
        self._n_front = 0  # samples out of the front end (decoded or not)
        self._unsettled: list[tuple[Heard, rules.Candidate]] = []  # commands waiting for run_on_s
        self._word_starts: deque[int] = deque(maxlen=64)  # decoder sample index of the person's recent words, fillers aside
        self._idle = False  # True while the decoder rests (no voice for idle_after_s)
        self._preroll: deque[tuple] = deque()  # the last preroll_s of blocks, decoded or not
        self._preroll_len = 0
        self._skips: deque[tuple[int, int]] = deque(maxlen=4096)  # (decoder index, input - decoder offset)
        # Kaldi's own dither draws from the global rand(), so results changed from
        # run to run (voicecoach.model.FEATURE_OPTIONS); this stream has its own.
        self._dither = np.random.default_rng(0)

    def feed(self, samples: np.ndarray, start: float, reference: np.ndarray | None = None) -> list[Heard | Withdrawn]:
        """Add one mic block; returns the commands completed by it (usually none),
        and, when provisional, the provisional ones it took back.

        Args:
            samples: int16 mono at 16 kHz (float in [-1, 1] is converted).
            start: the block's first sample on the microphone timeline, seconds.
            reference: float32 16 kHz, same length: what the speaker played
                over this span, or None when it played nothing.
        """
        block = _as_int16(samples)
        if len(block) == 0:
            return []
        self._anchors.append((self._n_in, float(start)))
        self._n_in += len(block)
        if reference is not None:
            reference = np.asarray(reference, dtype=np.float32).reshape(-1)
            if not self._want_aec:
                self._gate.update(reference, float(start), self.samplerate)
                reference = None
        clean, echo, power = self._front.process(block, reference)
        return self._decode(clean, echo, power)

    @property
    def decoded_share(self) -> float:
        """Share of the audio fed so far that went through the decoder (the
        rest had no voice for longer than ``idle_after_s`` and was skipped)."""
        return self._n_dec / self._n_front if self._n_front else 0.0

    def finish(self) -> list[Heard | Withdrawn]:
        """Flush at the end of input: decode what is buffered, finalise and settle."""
        rest = self._front.flush()
        out = self._decode(rest[: len(rest) // FRAME * FRAME], np.zeros(0), np.zeros(0)) if len(rest) >= FRAME else []
        out += self._end_utterance()
        return out + self._settle(at_end=True)

    # -- internals -----------------------------------------------------------------

    def _new_decoder(self):
        rec = self._vosk.KaldiRecognizer(self.model, self.samplerate, self._grammar_json)
        rec.SetWords(True)
        return rec

    def _sample_of(self, word_time: float) -> int:
        """The decoder sample index of a Vosk word time (seconds of audio given to this decoder)."""
        return int(round(word_time * self.samplerate))

    def _time_of(self, n: int) -> float:
        """Mic-timeline seconds of decoder sample index ``n``."""
        # Decoder samples skip what was not decoded while idle.
        skipped = 0
        for at, total in reversed(self._skips):
            if at <= n:
                skipped = total
                break
        n += skipped
        best = None
        for idx, t in reversed(self._anchors):
            if idx <= n:
                best = (idx, t)
                break
        if best is None:
            best = self._anchors[0] if self._anchors else (0, 0.0)
        return best[1] + (n - best[0]) / self.samplerate

    def _decode(self, clean: np.ndarray, echo: np.ndarray, power: np.ndarray) -> list[Heard | Withdrawn]:
        if len(clean) == 0:
            return []
        loud, voiced = self._loudness(clean, power)
        block = (clean, echo, power, loud, voiced)
        # The last moments are always kept: when the decoder wakes, the next
        # sound is decoded with its lead-in (without it, words right at the
        # start were seen to lose confidence). Only what the decoder has not had is fed.
        self._preroll.append([block, not self._idle])  # [block, given to the decoder]
        self._preroll_len += len(clean)
        while self._preroll_len - len(self._preroll[0][0][0]) >= self.settings.preroll_s * self.samplerate:
            self._preroll_len -= len(self._preroll.popleft()[0][0])
        out: list[Heard | Withdrawn] = []
        if self._idle:
            # No voice has been heard for a while: the decoder rests (most of
            # a session is silence or breathing) until the next voiced sound;
            # the preroll brings along the unvoiced start of a word ("st" in "stop").
            if not voiced.any():
                return []
            self._idle = False
            # The decoder goes on where it stopped, as if the quiet between
            # had been shorter: its adaptation carries over.
            pending = [b for b, given in self._preroll if not given]
            first = self._n_front - sum(len(b[0]) for b in pending)
            expected = self._n_dec + (self._skips[-1][1] if self._skips else 0)  # input sample it would have had next
            if first > expected and self._last_loud > self._utt_start:
                # Audio was skipped, so the sound before it (breathing, say) is
                # over: it is judged on its own. A rest shorter than the preroll
                # skips nothing and leaves a word that began unvoiced whole.
                out += self._end_utterance()
            # From here, decoder sample n is input sample n + this offset.
            self._skips.append((self._n_dec, first - self._n_dec))
            for entry in self._preroll:
                entry[1] = True
        else:
            pending = [block]
        for b in pending:
            out += self._decode_block(*b)
        # Judged after the lead-in is replayed: its blocks are unvoiced by design.
        self._rest_if_unvoiced()
        # A rest means no voice for idle_after_s: no command waiting can run on.
        return out + self._settle(at_end=self._idle)

    def _settle(self, at_end: bool = False) -> list[Heard | Withdrawn]:
        """Settle the commands whose ``run_on_s`` has been heard and decoded (all of them ``at_end``)."""
        out: list[Heard | Withdrawn] = []
        if any(self._due(c.end_n, at_end) for _, c in self._unsettled) and self._partial_has_words():
            # Words said after a command can be in the partial result only,
            # which has no times: end the utterance so that they come with them
            # (the commands it judges join self._unsettled).
            out += self._end_utterance()
        waiting = []
        for heard, candidate in self._unsettled:
            if self._due(candidate.end_n, at_end):
                out += self._verdict(heard, candidate, announced=self.provisional)
            else:
                waiting.append((heard, candidate))
        self._unsettled = waiting
        return out

    def _run_on_end(self, end_n: int) -> int:
        """Where the run-on window after a phrase ending at ``end_n`` ends."""
        return end_n + int((_WORD_TIME_SLACK_S + self.settings.run_on_s) * self.samplerate)

    def _settles_at(self, end_n: int) -> int:
        """When a phrase ending at ``end_n`` is settled: once its run-on window has
        been heard, and, if the person made any sound in it, decoded."""
        at = self._run_on_end(end_n)
        if self._last_loud > end_n + self._slack_n:
            at += int(self.settings.decoder_lag_s * self.samplerate)
        return at

    def _due(self, end_n: int, at_end: bool) -> bool:
        return at_end or self._n_dec >= self._settles_at(end_n)

    def _partial_has_words(self) -> bool:
        return any(w not in self.grammar.all_fillers for w in self._last_partial.split())

    def _end_utterance(self) -> list[Heard | Withdrawn]:
        """Finalise the decoder's current utterance and judge it."""
        out = self._evaluate(json.loads(self._rec.FinalResult()))
        self._new_utterance()
        return out

    def _verdict(self, heard: Heard, candidate: rules.Candidate, announced: bool) -> list[Heard | Withdrawn]:
        """The final :class:`Heard`; or, when a settling rule rejects it, the
        withdrawal of the provisional one if that was ``announced``, else nothing."""
        emitted = round(self._time_of(self._n_dec), 3)
        rejected = rules.first_rejection(rules.ON_SETTLING, self, candidate)
        self._explain(list(candidate.words), rejected or "command")
        if rejected:
            return [Withdrawn(heard.intent, heard.text, heard.start, heard.end, emitted)] if announced else []
        return [dataclasses.replace(heard, emitted=emitted, final=True)]

    def ends_in_hiss(self, end_n: int) -> bool:
        """True when the person hisses (an /s/, as long as ``suffix_hiss_s`` allows)
        starting as the phrase ending at ``end_n`` ends: from 20 ms before that
        end to the word-time slack after it."""
        shortest, longest = (int(round(x * self.samplerate)) // FRAME for x in self.settings.suffix_hiss_s)
        if not longest:
            return False
        a, b = (end_n - 2 * FRAME) // FRAME, (end_n + self._slack_n) // FRAME + longest + 1
        idx = self._kept(a, b) if b <= self._n_dec // FRAME else None
        if idx is None:
            return False  # not all heard yet, or no longer kept
        hiss = self._frame_hiss[idx] & (self._frame_echo[idx] < _MOSTLY_ECHO)
        latest_start = (end_n + self._slack_n) // FRAME - a
        # A stretch already hissing at a, or still at b, may be longer than it shows.
        return any(0 < s <= latest_start and e < len(hiss) and shortest <= e - s <= longest for s, e in _runs(hiss))

    def _decode_block(self, clean, echo, power, loud, voiced) -> list[Heard | Withdrawn]:
        clean = dither(clean, self._dither)
        hiss = loud & (self._high_over_low_db(clean, len(loud)) >= _HISS_DB) if loud.any() else loud
        self._note_decoded(echo, power, loud, voiced, hiss)
        self._keep_audio(clean)
        self._n_dec += len(clean)
        out: list[Heard | Withdrawn] = []
        if self._rec.AcceptWaveform(clean.tobytes()):
            out += self._evaluate(json.loads(self._rec.Result()))
            self._new_utterance()
            return out
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        if partial != self._last_partial:
            self._partial_since = self._n_dec
            self._last_partial = partial
        quiet = (self._n_dec - self._last_loud) / self.samplerate
        unvoiced = (self._n_dec - self._last_voiced) / self.samplerate
        if partial and self._ends_in_phrase(partial):
            steady = (self._n_dec - self._partial_since) / self.samplerate
            done = (
                quiet >= self.settings.end_silence_s
                # A word's own unvoiced ending ("arched") can outlast end_unvoiced_s:
                # the decoder must also have gone on a little without changing its mind.
                or (unvoiced >= self.settings.end_unvoiced_s and steady >= self.settings.end_silence_s)
                or steady >= self.settings.steady_s
            )
        else:
            # The partial result can lag or differ from the final one; after
            # a clear pause, finalise whatever sound there was and judge it.
            done = self._last_loud > self._utt_start and (
                quiet >= self.settings.pause_s
                or (self._last_voiced > self._utt_start and unvoiced >= self.settings.pause_s + self.settings.end_unvoiced_s)
            )
        if done:
            out += self._end_utterance()
        return out

    def _rest_if_unvoiced(self) -> None:
        """Let the decoder rest after ``idle_after_s`` with no voice."""
        if (self._n_dec - self._last_voiced) / self.samplerate >= self.settings.idle_after_s:
            self._idle = True

    def _new_utterance(self) -> None:
        self._utt_start = self._n_dec
        self._last_partial = ""
        self._partial_since = self._n_dec
        self._audio.clear()
        self._audio_len = 0
        self._audio_start = self._n_dec

    def _ends_in_phrase(self, text: str) -> bool:
        # The partial's best path may differ from the final one ("arched"
        # for "uh back arched"), so any phrase's last word is enough to try.
        words = text.split()
        return bool(words) and words[-1] in self._last_words

    def _keep_audio(self, clean: np.ndarray) -> None:
        self._audio.append(clean)
        self._audio_len += len(clean)
        limit = int(self.settings.max_utterance_s * self.samplerate)
        while self._audio_len - len(self._audio[0]) >= limit:
            first = self._audio.popleft()
            self._audio_len -= len(first)
            self._audio_start += len(first)

    def _loudness(self, clean: np.ndarray, power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which 10 ms frames of this block are sound (above the noise floor), and which
        of those are voiced; tracks the floor."""
        self._n_front += len(clean)
        # The front end hands over whole 10 ms frames, with their power.
        n = len(clean) // FRAME
        if n == 0:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
        if len(power) != n:
            power = np.zeros(n) if len(power) == 0 else np.resize(power, n)
        db = 10 * np.log10(power + 1e-10)
        # 30 ms average: single 10 ms frames of noise swing too much.
        history = np.concatenate([np.asarray(self._smooth), db])
        level = 10 * np.log10(np.convolve(10 ** (history / 10), np.ones(3) / 3, "valid"))
        self._smooth.extend(db[-2:])
        # The floor is a low percentile of the last few seconds, not their
        # minimum: noise after suppression dips far below its usual level
        # (seen: hum whose minimum sits 6 dB under its median), and a floor
        # at the dips would take the noise itself for sound.
        slots = (self._level_count + np.arange(n)) % len(self._levels)
        self._levels[slots] = level
        self._level_count += n
        seen = self._levels[: min(self._level_count, len(self._levels))]
        k = int(len(seen) * self.settings.floor_percentile / 100)
        floor = float(np.partition(seen, k)[k])
        loud = (level > floor + self.settings.vad_margin_db) & (level > -70.0)
        if not loud.any():
            self._emphasised(clean, n)  # keeps the voicing windows' context
            return loud, loud
        return loud, loud & (self._periodicity(clean, n) >= self.settings.voicing_threshold)

    def _emphasised(self, clean: np.ndarray, n: int) -> np.ndarray:
        """The block's ``n`` frames pre-emphasised, after the last 20 ms of the one before."""
        x = clean[: n * FRAME].astype(np.float32)
        # Pre-emphasis: pink noise and hum are mostly low-frequency and would
        # otherwise correlate at short lags like a voice does.
        y = np.empty_like(x)
        y[0] = x[0] - 0.95 * self._last_sample
        y[1:] = x[1:] - 0.95 * x[:-1]
        self._last_sample = float(x[-1])
        y = np.concatenate([self._emphasised_tail, y])
        self._emphasised_tail = y[-2 * FRAME :]
        return y

    def _periodicity(self, clean: np.ndarray, n: int) -> np.ndarray:
        """Per 10 ms frame: the highest normalised autocorrelation over pitch lags of
        80-400 Hz, on a 30 ms window ending with the frame."""
        y = self._emphasised(clean, n)
        win = 3 * FRAME
        frames = np.lib.stride_tricks.sliding_window_view(y, win)[::FRAME][:n]
        frames = frames - frames.mean(axis=1, keepdims=True)
        spec = np.fft.rfft(frames, 2 * win, axis=1)
        ac = np.fft.irfft(spec.real**2 + spec.imag**2, axis=1)
        lo, hi = self.samplerate // 400, self.samplerate // 80
        lags = np.arange(lo, hi + 1)
        r = ac[:, lo : hi + 1] * (win / (win - lags)) / np.maximum(ac[:, :1], 1e-6)
        return r.max(axis=1)

    def _high_over_low_db(self, clean: np.ndarray, n: int) -> np.ndarray:
        """Per 10 ms frame: dB of its 4-8 kHz band over its 0.1-3 kHz band."""
        frames = clean[: n * FRAME].reshape(n, FRAME).astype(np.float32)
        spec = np.abs(np.fft.rfft(frames * _HISS_WINDOW, axis=1)) ** 2
        high = spec[:, _HISS_HIGH_BAND].sum(axis=1)
        low = spec[:, _HISS_LOW_BAND].sum(axis=1)
        return 10 * np.log10((high + 1e-6) / (low + 1e-6))

    def _note_decoded(self, echo: np.ndarray, power: np.ndarray, loud: np.ndarray, voiced: np.ndarray,
                      hiss: np.ndarray) -> None:
        """Keep, per decoded 10 ms frame, its power, echo share, voicing and hiss; note the last loud and voiced frames."""
        n = len(loud)
        if n == 0:
            return
        idx = (self._n_dec // FRAME + np.arange(n)) % _RING
        self._frame_pow[idx] = power[:n] if len(power) >= n else 0.0
        e = np.zeros(n)
        e[: min(n, len(echo))] = echo[:n]
        self._frame_echo[idx] = e
        self._frame_voiced[idx] = voiced
        self._frame_hiss[idx] = hiss
        # What is left of the coach's voice is not the person going on
        # talking: it must not hold back the end of their command.
        theirs = e < _MOSTLY_ECHO
        hits = np.flatnonzero(loud & theirs)
        if len(hits):
            self._last_loud = self._n_dec + (int(hits[-1]) + 1) * FRAME
        hits = np.flatnonzero(voiced & theirs)
        if len(hits):
            self._last_voiced = self._n_dec + (int(hits[-1]) + 1) * FRAME

    def _evaluate(self, result: dict) -> list[Heard | Withdrawn]:
        words = result.get("result") or []
        if self.trace is not None and words:
            self.trace.append(" ".join(f"{w['word']}:{w.get('conf', 0):.2f}" for w in words))
        if not words:
            return []
        # Words the echo estimate explains (what is left of the coach's voice
        # after cancellation) separate utterances, like a pause does.
        groups: list[list[dict]] = [[]]
        for w in words:
            s_n, e_n = self._sample_of(w["start"]), self._sample_of(w["end"])
            if not self.louder_than_echo(s_n, e_n):
                groups.append([])
                continue
            if w["word"] not in self.grammar.all_fillers:
                self._word_starts.append(s_n)
            if groups[-1] and w["start"] - groups[-1][-1]["end"] >= self.settings.split_gap_s:
                groups.append([])
            groups[-1].append(w)
        groups = [g for g in groups if g]
        emitted = self._time_of(self._n_dec)
        out = []
        for g in groups:
            # A command is said on its own: words (or [unk]) that end just
            # before it make it the tail of a sentence ("that was really hard").
            isolated = g[0]["start"] - self._last_word_end >= self.settings.isolation_s
            if isolated:
                out += self._judge(g, emitted)
            else:
                self._explain(g, "not on its own")
            self._last_word_end = max(self._last_word_end, float(g[-1]["end"]))
        return out

    def _judge(self, group: list[dict], emitted: float) -> list[Heard | Withdrawn]:
        """The command in ``group`` (provisional, final, or none) if it is one."""
        names = [w["word"] for w in group]
        found = self.grammar.match(names) if UNK not in names else None
        if found is None:
            self._explain(group, "[unk] among the words" if UNK in names else "not a phrase")
            return []
        n_fillers, intent = found
        candidate = rules.Candidate(tuple(group), n_fillers, intent,
                                    self._sample_of(group[0]["start"]), self._sample_of(group[-1]["end"]))
        rejected = rules.first_rejection(rules.AT_ONCE, self, candidate)
        if rejected:
            self._explain(group, rejected)
            return []
        heard = Heard(
            intent=intent.name,
            kind=intent.kind,
            text=self.grammar.to_display(" ".join(names)),
            start=round(self._time_of(candidate.start_n), 3),
            end=round(self._time_of(candidate.end_n), 3),
            emitted=round(emitted, 3),
            confidence=round(candidate.confidence, 3),
            final=False,
        )
        if self._due(candidate.end_n, at_end=False):
            # What follows the words has been heard already (a long pause before
            # the decoder's own endpoint): settled now.
            return self._verdict(heard, candidate, announced=False)
        self._unsettled.append((heard, candidate))
        return [heard] if self.provisional else []

    def _explain(self, group: list[dict], verdict: str) -> None:
        if self.explain is not None:
            self.explain.append(Explained(
                round(self._time_of(self._sample_of(group[0]["start"])), 3),
                round(self._time_of(self._sample_of(group[-1]["end"])), 3),
                " ".join(f"{w['word']}:{float(w.get('conf', 0.0)):.2f}" for w in group), verdict))

    # -- evidence the rules ask for (voicecoach.speech.rules.Evidence) -----------------------

    def coach_was_speaking(self, c: rules.Candidate) -> bool:
        """True when the words overlap the half-duplex gate (coach audible, no canceller)."""
        return self._gate.overlaps(self._time_of(c.start_n), self._time_of(c.end_n))

    def confirmed(self, c: rules.Candidate) -> bool:
        """True when an open-vocabulary decode of the words' audio holds the phrase."""
        return self._verified([w["word"] for w in c.phrase_words], c.start_n, c.end_n)

    def word_starts_after(self, end_n: int) -> bool:
        """True when the decoder heard a word (fillers aside) start in the run-on window after ``end_n``."""
        a, b = end_n + self._slack_n, self._run_on_end(end_n)
        return any(a <= s < b for s in self._word_starts)

    def voice_runs_on(self, end_n: int) -> bool:
        """True when the person's voice adds up to ``run_on_voiced_s`` in the run-on window after ``end_n``."""
        a, b = end_n + self._slack_n, self._run_on_end(end_n)
        return self._their_voice_s(a, min(b, self._n_dec)) >= self.settings.run_on_voiced_s

    def broken_spelling(self, words: list[dict]) -> bool:
        """True when the parts of a sounds-like spelling in ``words`` are apart."""
        names = [w["word"] for w in words]
        for spelled in self._spellings:
            n = len(spelled)
            for i in range(len(names) - n + 1):
                if names[i : i + n] == spelled:
                    parts = words[i : i + n]
                    if any(b["start"] - a["end"] > self.settings.spelled_gap_s for a, b in zip(parts, parts[1:])):
                        return True
        return False

    def passes_over_voice(self, words: list[dict]) -> bool:
        """True when the person's voice sounds between two of ``words``.

        The decoder passes over a word it has no place for as silence, even
        between the words of what it returns as a phrase: "good. next rep"
        came out as "good rep", "hold on a second" as "oh say again". Between
        the words of a phrase said as one there is a pause or a closure, not
        a stretch of voicing. (On scripts/bench_recognizer.py's 60-min stream
        this took false accepts from 4 to 2 per hour; on the dev subset it
        changed no true command.)
        """
        for before, after in zip(words, words[1:]):
            a_n = self._sample_of(before["end"]) + self._slack_n
            b_n = self._sample_of(after["start"]) - self._slack_n
            if self._their_voice_s(a_n, b_n, min_frames=_MIN_VOICED_RUN) > 0:
                return True
        return False

    def follows_voice(self, start_n: int) -> bool:
        """True when the person's voice ends just before the words starting at ``start_n``
        (see ``control_lead_in_s``)."""
        b = self._voiced_onset(start_n) - self._slack_n
        a = b - int(self.settings.control_lead_in_s * self.samplerate)
        return self._their_voice_s(a, b, min_frames=_MIN_VOICED_RUN) >= self.settings.run_on_voiced_s

    def _voiced_onset(self, start_n: int) -> int:
        """Where a word starting at ``start_n`` begins to sound voiced.

        Vosk sets a word's start up to ~0.2 s late ("pause" at 1.32 s, voiced
        from 1.09 s in one dev clip), so when the start falls inside a voiced
        stretch, the voice before it is the word's own: the onset is where
        that stretch began (``_VOICING_BREAK`` frames unvoiced are part of it). A start on
        an unvoiced frame ("st" in "start") is its own onset.
        """
        onset = start_n // FRAME
        oldest = self._oldest_frame()
        if onset < oldest or not self._frame_voiced[onset % _RING]:
            return start_n
        k = onset - 1
        while k >= oldest and onset - k <= _VOICING_BREAK + 1:
            if self._frame_voiced[k % _RING]:
                onset = k
            k -= 1
        return onset * FRAME

    def speech_after(self, end_n: int) -> bool:
        """True when the person's voice goes on right after the phrase ending at ``end_n``.

        The grammar has few words besides the commands, and the decoder often
        passes over other speech as silence ("repeat [after me]" came out as
        "repeat"), so the words alone cannot tell a command said on its own
        from the start of a sentence; voiced sound that is not echo can.
        (Before the phrase, :meth:`speech_before` looks further back: a short
        filler, or words ended a moment earlier, must not cost a command;
        "hello there. start workout" is one.)
        """
        gap = self._slack_n
        span = int(self.settings.context_s * self.samplerate)
        after = self._near_voiced_share(end_n + gap, min(end_n + gap + span, self._n_dec))
        return after > self.settings.context_voiced_share

    def speech_before(self, start_n: int) -> bool:
        """True when the person has been talking right up to the phrase starting at ``start_n``."""
        if not self.settings.lead_in_s:
            return False
        gap = self._slack_n
        span = int(self.settings.lead_in_s * self.samplerate)
        return self._near_voiced_share(start_n - gap - span, start_n - gap) > self.settings.lead_in_voiced_share

    def _near_voiced_share(self, a_n: int, b_n: int) -> float:
        voiced = self._theirs_voiced(a_n, b_n)
        return 0.0 if voiced is None else float(np.mean(voiced))

    def _their_voice_s(self, a_n: int, b_n: int, min_frames: int = 10) -> float:
        """Seconds of the person's voice over these samples, counting only voiced
        stretches of 30 ms or more (breath noise passes for voiced in ones and twos)."""
        voiced = self._theirs_voiced(a_n, b_n, min_frames)
        return 0.0 if voiced is None else _in_runs(voiced, _MIN_VOICED_RUN) * FRAME / self.samplerate

    def _theirs_voiced(self, a_n: int, b_n: int, min_frames: int = 10) -> np.ndarray | None:
        """Per decoded 10 ms frame over these samples: voiced and not echo; None
        when that is no evidence (under ``min_frames`` frames, or no longer kept)."""
        a, b = max(a_n, 0) // FRAME, b_n // FRAME
        idx = self._kept(a, b) if b - a >= min_frames else None
        return None if idx is None else self._frame_voiced[idx] & (self._frame_echo[idx] < _MOSTLY_ECHO)

    def _oldest_frame(self) -> int:
        """The oldest decoded 10 ms frame whose features the ring still holds."""
        return max(self._n_dec // FRAME - _RING, 0)

    def _kept(self, a: int, b: int) -> np.ndarray | None:
        """Ring slots of decoded 10 ms frames ``a`` to ``b`` (exclusive), or None
        when the oldest of them is no longer kept.

        Frames past the newest decoded one are not refused here, as before this
        helper: refusing them let the coach's own words through as the person's
        in `voicecoach run` through the null sink ("slower", "back arched" and
        "stop point" heard from its cues, in 3 of 11 runs of test_run_live; 0 of
        10 with this check). Why a word reached past the decoded frames there is
        not traced; offline clips never do (0 of 42 words)."""
        if a < self._oldest_frame() or b - a >= _RING:
            return None
        return np.arange(a, b) % _RING

    def louder_than_echo(self, start_n: int, end_n: int) -> bool:
        """False when most of the power over these samples is the coach's echo."""
        a, b = start_n // FRAME, max(start_n // FRAME + 1, end_n // FRAME)
        idx = self._kept(a, b)
        if idx is None:
            return True  # no longer kept: no evidence either way
        share = self._frame_echo[idx]
        if not np.any(share > 0):
            return True
        power = self._frame_pow[idx] + 1e-12
        near = float(np.sum(power * (1.0 - share)) / np.sum(power))
        return 10 * np.log10(near + 1e-12) >= self.settings.echo_margin_db

    def _verified(self, phrase_words: list[str], start_n: int, end_n: int) -> bool:
        """Open-vocabulary decode of the candidate's audio must contain the phrase words."""
        if not self._audio:
            return True
        audio = np.concatenate(list(self._audio))
        pad = int(0.3 * self.samplerate)
        a = max(0, start_n - pad - self._audio_start)
        b = min(len(audio), end_n + pad - self._audio_start)
        if b - a < self.samplerate // 10:
            return True  # audio no longer held: nothing to check against
        seg = audio[a:b]
        if self._free is None:
            self._free = self._vosk.KaldiRecognizer(self.model, self.samplerate)
        rec = self._free
        rec.AcceptWaveform(seg.tobytes())
        free = json.loads(rec.FinalResult()).get("text", "").split()
        self.last_verify = (" ".join(phrase_words), " ".join(free))
        return _contains(free, phrase_words)


def dither(pcm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """int16 ``pcm`` with Kaldi's dither (Gaussian, one LSB) drawn from ``rng``.

    What a decoder of a model from :func:`voicecoach.model.load_model` must be
    fed: that model's own dither is off (:data:`voicecoach.model.FEATURE_OPTIONS`).
    """
    noise = np.rint(rng.standard_normal(len(pcm)))
    return np.clip(pcm + noise, -32768, 32767).astype(np.int16)


def decoder_sentences(grammar: Grammar, distractor_words=()) -> tuple[str, ...]:
    """The sentences Vosk estimates its decoding language model from.

    Vosk turns a grammar list into a bigram model (order 2, discount 0.5,
    ``UpdateGrammarFst`` in vosk-api), each entry a sentence between <s> and
    </s>. So what is listed shapes what the decoder expects, not only which
    words exist. Besides each phrase, each filler and each distractor word on
    its own, the list holds every "filler phrase" sentence the recognizer
    accepts, and no other ("my pause" is not one). Without them a filler could
    only reach a phrase through backoff, and "uh back arched" was often heard
    as just "arched" (measured on the
    dev corpus: with them, 98.2 % right clean and 82.7 % at 5 dB, against
    96.2 % and 79.6 %, with no more false accepts).
    """
    with_fillers = tuple(
        f"{f} {p}" for it in grammar.intents for p in grammar.phrases_of(it) for f in grammar.fillers_for(it.kind)
    )
    return tuple(grammar.phrases) + with_fillers + grammar.all_fillers + tuple(distractor_words) + (UNK,)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each stretch of True in ``flags``, end exclusive."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _in_runs(flags: np.ndarray, min_run: int) -> int:
    """How many of ``flags`` are True in stretches of at least ``min_run``."""
    return sum(e - s for s, e in _runs(flags) if e - s >= min_run)


def _contains(free: list[str], phrase: list[str]) -> bool:
    """True when ``phrase`` words occur, in order, in ``free`` (close spellings allowed)."""
    i = 0
    for w in free:
        if i < len(phrase) and _same(w, phrase[i]):
            i += 1
    return i == len(phrase)


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    # The open decoder spells a word its own way ("arch" for "arched",
    # "reps" for "rep"); accept a shared stem of four letters or most of the word.
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n >= min(4, len(a), len(b)) and n >= 3


def _as_int16(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim > 1:
        x = x.mean(axis=1) if x.shape[1] <= 8 else x.reshape(-1)
    if x.dtype == np.int16:
        return np.ascontiguousarray(x)
    if np.issubdtype(x.dtype, np.floating):
        return (np.clip(np.nan_to_num(x), -1.0, 1.0) * 32767.0).astype(np.int16)
    return np.clip(x, -32768, 32767).astype(np.int16)
