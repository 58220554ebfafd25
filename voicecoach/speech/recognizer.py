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

A closed Vosk grammar turns any noise into a phrase at confidence ~1
(vosk-api issues 741, 874, 1339), so most of the work is saying *no*. The
stages, each in its module:

1. front end (:mod:`~voicecoach.speech.echo`): noise suppression, and while
   the coach talks echo cancellation with a per-frame echo share;
2. features (:mod:`~voicecoach.speech.features`): per 10 ms frame, sound,
   voice, hiss and echo, kept for 10 s;
3. decoding, here: the grammar's phrases, fillers, distractor words and
   ``[unk]`` as the decoder's language model (:func:`decoder_sentences`);
   the decoder rests after ``idle_after_s`` with no voice and wakes on the
   next voiced sound with its lead-in;
4. endpointing (:mod:`~voicecoach.speech.endpointing`): an utterance ends as
   soon as a phrase is complete and the person has gone quiet or unvoiced;
5. candidates, here: words split where they pause or the echo explains them;
   a group is a candidate when it is, exactly, up to two fillers and one
   phrase, with nothing decoded just before it;
6. rules (:mod:`~voicecoach.speech.rules`): the reasons a candidate is no
   command, at once and again once ``run_on_s`` after it has been heard.

A short utterance of the person's voice that gives no phrase is decoded
again, warped (:mod:`~voicecoach.speech.relisten`), and then, with an
enrollment, compared with the person's own takes
(:mod:`~voicecoach.speech.templates`); what either finds goes to stage 5.

When the commands come out: a recognizer built with ``provisional=True``
emits a command as soon as its words are heard, and the final one (or a
:class:`~voicecoach.events.Withdrawn`) once ``run_on_s`` after them has been
heard and decoded. Without pywebrtc-audio (or with ``echo_canceller=False``)
nothing heard while the coach is audible counts (half-duplex fallback).
docs/recognizer.md says how each setting was chosen. Times in
:class:`Heard` are on the mic timeline given to :meth:`CommandRecognizer.feed`.
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from dataclasses import dataclass

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.events import Heard, Withdrawn
from voicecoach.speech import rules
from voicecoach.speech.echo import FRAME, Cleaned, CoachWords, EchoGate, FrontEnd, aec_available
from voicecoach.speech.endpointing import Endpointer
from voicecoach.speech.enrollment import Enrollment
from voicecoach.speech.features import MIN_VOICED_RUN, FrameHistory, SoundDetector, Tail
from voicecoach.speech.grammar import Grammar
from voicecoach.speech.relisten import Relistener
from voicecoach.speech.settings import RecognizerSettings
from voicecoach.speech.templates import speech_stretch
from voicecoach.speech.vocabulary import distractors

__all__ = ["CommandRecognizer", "Explained", "RecognizerSettings", "decoder_sentences", "dither"]

UNK = "[unk]"
_WORD_TIME_SLACK_S = 0.08  # Vosk's word times are off by a few frames: context windows keep this far away


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
    or ``"not on its own"`` (it follows other words); or how words came that
    the rules judge next (``"matched the takes: ..."``, ``"second listen: ..."``)."""
    also: tuple[str, ...] = ()
    """The other rules of the verdict's stage that reject the words too (empty
    when the verdict is no rule's, or no other rule agrees)."""


class CommandRecognizer:
    """Grammar-constrained streaming recognizer with out-of-grammar rejection.

    Args:
        model: a loaded ``vosk.Model`` (see :func:`voicecoach.model.load_model`).
        grammar: the commands (:func:`voicecoach.speech.grammar.load_grammar`).
        samplerate: must be 16000, ``VOSK_RATE`` (convert with
            :func:`voicecoach.audio.wavio.to_16k_int16` first).
        echo_canceller: cancel the echo of blocks that come with a reference
            (a linear canceller and its judge); when False or pywebrtc-audio is
            missing, ignore what is heard while the reference is audible.
        provisional: also emit each command as soon as its words are heard,
            as a :class:`Heard` with ``final=False``; the final one, or a
            :class:`~voicecoach.events.Withdrawn`, follows once
            ``run_on_s`` after the words has been heard. Without it only
            final commands come out, that much later.
        settings: :class:`RecognizerSettings` (defaults are the tested ones).
        enrollment: one person's :class:`~voicecoach.speech.enrollment.Enrollment`
            (personal spellings and confidence floors), or None.

    Not thread-safe: one instance per audio stream, fed from one thread.
    """

    def __init__(
        self,
        model,
        grammar: Grammar,
        *,
        samplerate: int = VOSK_RATE,
        echo_canceller: bool = True,
        provisional: bool = False,
        settings: RecognizerSettings | None = None,
        enrollment: Enrollment | None = None,
    ):
        if samplerate != VOSK_RATE:
            raise ValueError("CommandRecognizer takes 16 kHz audio; resample first (wavio.to_16k_int16)")
        import vosk

        self.model = model
        self.enrollment = enrollment or Enrollment()
        grammar = self.enrollment.apply(grammar)
        self.grammar = grammar
        self.samplerate = samplerate
        self.settings = settings or RecognizerSettings()
        self.provisional = provisional
        self._slack_n = int(_WORD_TIME_SLACK_S * samplerate)  # context windows keep this far from a word's time
        self._vosk = vosk
        if self.settings.verify and getattr(model, "grammar_only", False):
            raise ValueError("verify decodes without a grammar: load the model with load_model(grammar_only=False)")
        self.full_grammar = grammar
        """Every intent, those kept for one phase too (``self.grammar`` is the one listened for now)."""
        # One decoder grammar per phase with intents of its own ("stop", "done" in the
        # plank): listened for all session long they take marks' words ("stop
        # point", "doming"); the figures are in docs/recognizer.md.
        self._listening: dict[str | None, tuple[Grammar, tuple[str, ...]]] = {}
        for phase in (None, *grammar.phases):
            g = grammar.listening(phase)
            own = set(g.words())
            extra = [w for w in distractors(exclude=own, sets=self.settings.distractor_sets)
                     if model.vosk_model_find_word(w) >= 0]
            self._listening[phase] = (g, decoder_sentences(g, extra))
        self._phase: str | None = None
        self._wanted: str | None = None  # the phase the runtime says the session is in
        self._listen(None)
        self._spellings = [spelled.split() for _, spelled in grammar.sounds_like if len(spelled.split()) > 1]
        self._want_aec = echo_canceller and aec_available()
        self._front = FrontEnd(
            samplerate,
            aec=self.settings.aec if self._want_aec else None,
            noise_suppression=self.settings.noise_suppression,
            judge=self.settings.echo_judge,
            judge_margin_db=self.settings.echo_judge_margin_db,
        )
        self._gate = EchoGate()
        self._coach_words = CoachWords(grammar)  # the coach may say any phrase, in any phrase
        self._sound = SoundDetector(self.settings, samplerate)
        self._frames = FrameHistory(samplerate)
        """Features of the decoded frames; owns the count of decoded samples."""
        self._ends = Endpointer(self.settings, samplerate)
        self._rec = None
        level = self.settings.relisten_level_dbfs
        self._relisten = Relistener(
            model, self.settings.relisten_warps, samplerate,
            level=None if level is None else (level, self.settings.relisten_min_gain_db, self.settings.relisten_max_gain_db),
        ) if self.settings.relisten_warps else None
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
        self._rec_origin_s = 0.0  # decoder seconds at which this Vosk decoder began
        self._front.reset()
        self._gate.reset()
        self._coach_words.reset()
        self._sound.reset()
        self._frames.reset()
        self._ends.reset()
        self._n_in = 0  # samples received
        self._anchors: deque[tuple[int, float]] = deque(maxlen=4096)
        self._audio: deque[np.ndarray] = deque()  # decoded audio of the current utterance
        self._unsuppressed: deque[np.ndarray] = deque()  # the same blocks before noise suppression
        self._audio_len = 0
        self._audio_start = 0
        self._last_word_end = -1e9  # decoder seconds where the last real word heard ended
        self._n_front = 0  # samples out of the front end (decoded or not)
        self._unsettled: list[tuple[Heard, rules.Candidate]] = []  # commands waiting for run_on_s
        self._word_starts: deque[int] = deque(maxlen=64)  # decoder sample index of the person's recent words, fillers aside
        self._matched = False  # the utterance being judged held a phrase
        self._idle = False  # True while the decoder rests (no voice for idle_after_s)
        self._preroll: deque[tuple] = deque()  # the last preroll_s of blocks, decoded or not
        self._preroll_len = 0
        self._skips: deque[tuple[int, int]] = deque(maxlen=4096)  # (decoder index, input - decoder offset)
        # Kaldi's own dither draws from the global rand(), so results changed from
        # run to run (voicecoach.model.FEATURE_OPTIONS); this stream has its own.
        self._dither = np.random.default_rng(0)
        self._relisten_dither = np.random.default_rng(1)  # its own: the first decode's stays as it was

    def feed(self, samples: np.ndarray, start: float, reference: np.ndarray | None = None) -> list[Heard | Withdrawn]:
        """Add one mic block; returns the commands completed by it (usually none),
        and, when provisional, the provisional ones it took back.

        Args:
            samples: int16 mono at 16 kHz (float in [-1, 1] is converted).
            start: the block's first sample on the microphone timeline, seconds.
            reference: float32 16 kHz: what the speaker played over this
                span, or None when it played nothing; samples beyond the
                block's length are what the output rendered after it
                (``MicBlock.far_end``), which the echo canceller reads when
                the speaker's clock runs ahead of the microphone's.
        """
        block = _as_int16(samples)
        if len(block) == 0:
            return []
        self._anchors.append((self._n_in, float(start)))
        self._n_in += len(block)
        ahead = None
        if reference is not None:
            reference = np.asarray(reference, dtype=np.float32).reshape(-1)
            reference, ahead = reference[: len(block)], reference[len(block):]
            if not self._want_aec:
                self._gate.update(reference, float(start), self.samplerate)
                reference = None
        return self._decode(self._front.process(block, reference, ahead))

    def listen_during(self, phase: str | None) -> None:
        """The session is in ``phase`` (a ``Status.phase``): from the end of the
        utterance being decoded, listen for the intents kept for it (the grammar's
        ``during``) besides the others; any other phase, or ``None``: the others only."""
        self._wanted = phase if phase in self._listening else None

    def coach_says(self, text: str, start: float, end: float) -> None:
        """The coach's voice says ``text`` from ``start`` to ``end`` (mic-timeline
        seconds); tell it as soon as the cue starts, before feeding the blocks that
        hold its echo. A command whose phrase the sentence holds, heard while it is
        audible, is its echo (rule ``coach_said_it``)."""
        self._coach_words.add(text, float(start), float(end))

    @property
    def _n_dec(self) -> int:
        """Samples given to the decoder so far."""
        return self._frames.decoded

    @property
    def decoded_samples(self) -> int:
        """Samples given to the decoder so far (a lead-in replayed as it wakes counts once)."""
        return self._n_dec

    @property
    def decoded_share(self) -> float:
        """Share of the audio fed so far that went through the decoder (the
        rest had no voice for longer than ``idle_after_s`` and was skipped)."""
        return self._n_dec / self._n_front if self._n_front else 0.0

    def finish(self) -> list[Heard | Withdrawn]:
        """Flush at the end of input: decode what is buffered, finalise and settle."""
        rest = self._front.flush()
        whole = rest[: len(rest) // FRAME * FRAME]
        out = self._decode(Cleaned(whole, whole, np.zeros(0), np.zeros(0))) if len(whole) else []
        out += self._end_utterance()
        return out + self._settle(at_end=True)

    # -- internals -----------------------------------------------------------------

    def _new_decoder(self):
        rec = self._vosk.KaldiRecognizer(self.model, self.samplerate, self._grammar_json)
        rec.SetWords(True)
        return rec

    def _listen(self, phase: str | None) -> None:
        self._phase = phase
        # decoder_sentences: what the decoder's language model is estimated from (see decoder_sentences()).
        self.grammar, self.decoder_sentences = self._listening[phase]
        self._grammar_json = json.dumps(list(self.decoder_sentences))
        self._last_words = {p.split()[-1] for p in self.grammar.phrases}
        # Words that begin a command but never end one: a phrase's first words, fillers, lead-ins.
        begins = {w for p in self.grammar.phrases for w in p.split()[:-1]}
        self._first_words = (begins | set(self.grammar.all_fillers) | set(self.grammar.lead_ins)) - self._last_words

    def _switch_if_due(self) -> None:
        """Change the decoder's grammar between utterances, never inside one.

        A new Vosk decoder, not ``SetGrammar``: with vosk 0.3.45 a grammar set
        between utterances was seen not to be used (a "done" it holds still came
        out as nothing). The new decoder's word times start at 0, so its origin
        on this stream's decoder timeline is kept."""
        if self._wanted == self._phase or self._audio_len:
            return
        self._listen(self._wanted)
        self._rec = self._new_decoder()
        self._rec_origin_s = self._n_dec / self.samplerate

    def _sample_of(self, word_time: float) -> int:
        """The decoder sample index of a Vosk word time (seconds of audio given to this decoder)."""
        return int(round(word_time * self.samplerate))

    def _input_index(self, n: int) -> int:
        """The index among the samples fed of decoder sample index ``n``."""
        # Decoder samples skip what was not decoded while idle.
        for at, total in reversed(self._skips):
            if at <= n:
                return n + total
        return n

    def _time_of(self, n: int) -> float:
        """Mic-timeline seconds of decoder sample index ``n``."""
        n = self._input_index(n)
        best = None
        for idx, t in reversed(self._anchors):
            if idx <= n:
                best = (idx, t)
                break
        if best is None:
            best = self._anchors[0] if self._anchors else (0, 0.0)
        return best[1] + (n - best[0]) / self.samplerate

    def _decode(self, front: Cleaned) -> list[Heard | Withdrawn]:
        clean, echo = front.clean, front.echo
        if len(clean) == 0:
            return []
        self._n_front += len(clean)
        loud, voiced = self._sound.classify(clean, front.power)
        block = (front, loud, voiced)
        # The last moments are always kept: when the decoder wakes, the next
        # sound is decoded with its lead-in (without it, words right at the
        # start were seen to lose confidence). Only what the decoder has not had is fed.
        self._preroll.append([block, not self._idle])  # [block, given to the decoder]
        self._preroll_len += len(clean)
        while self._preroll_len - len(self._preroll[0][0][0].clean) >= self.settings.preroll_s * self.samplerate:
            self._preroll_len -= len(self._preroll.popleft()[0][0].clean)
        out: list[Heard | Withdrawn] = []
        if self._idle:
            # No voice has been heard for a while: the decoder rests (most of
            # a session is silence, breathing or the coach talking) until the
            # person's next voiced sound; the preroll brings along the unvoiced
            # start of a word ("st" in "stop"). What the canceller leaves of the
            # coach's voice does not wake it, as it does not keep it awake.
            if not (voiced & FrameHistory.theirs(echo, len(voiced))).any():
                return []
            self._idle = False
            if self._wanted != self._phase and self._audio_len:
                out += self._end_utterance()  # the phase changed while resting: what came before is over
            # The decoder goes on where it stopped, as if the quiet between
            # had been shorter: its adaptation carries over.
            pending = [b for b, given in self._preroll if not given]
            first = self._n_front - sum(len(b[0].clean) for b in pending)
            expected = self._n_dec + (self._skips[-1][1] if self._skips else 0)  # input sample it would have had next
            if first > expected and self._ends.sound_in_utterance():
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
        if self._ends.sound_after(end_n + self._slack_n):
            at += int(self.settings.decoder_lag_s * self.samplerate)
        return at

    def _due(self, end_n: int, at_end: bool) -> bool:
        return at_end or self._n_dec >= self._settles_at(end_n)

    def _partial_has_words(self) -> bool:
        return any(w not in self.grammar.all_fillers for w in self._ends.partial.split())

    def _end_utterance(self) -> list[Heard | Withdrawn]:
        """Finalise the decoder's current utterance and judge it."""
        out = self._evaluate(json.loads(self._rec.FinalResult()))
        self._new_utterance()
        return out

    def _verdict(self, heard: Heard, candidate: rules.Candidate, announced: bool) -> list[Heard | Withdrawn]:
        """The final :class:`Heard`; or, when a settling rule rejects it, the
        withdrawal of the provisional one if that was ``announced``, else nothing."""
        emitted = self._time_of(self._n_dec)
        rejected = self._rejection(rules.ON_SETTLING, candidate)
        if rejected:
            return [Withdrawn(heard.intent, heard.text, heard.start, heard.end, emitted)] if announced else []
        self._explain(list(candidate.words), "command")
        return [dataclasses.replace(heard, emitted=emitted, final=True)]

    def ends_in_hiss(self, end_n: int) -> bool:
        """True when the person hisses (an /s/, as long as ``suffix_hiss_s`` allows)
        starting as the phrase ending at ``end_n`` ends: from 20 ms before that
        end to the word-time slack after it."""
        shortest, longest = (int(round(x * self.samplerate)) // FRAME for x in self.settings.suffix_hiss_s)
        if not longest:
            return False
        # None: not all heard yet, or no longer kept.
        return bool(self._frames.hiss_starts(end_n - 2 * FRAME, end_n + self._slack_n, shortest, longest))

    def _decode_block(self, front: Cleaned, loud: np.ndarray, voiced: np.ndarray) -> list[Heard | Withdrawn]:
        self._switch_if_due()
        clean, echo, power = dither(front.clean, self._dither), front.echo, front.power
        # What is left of the coach's voice is not the person going on
        # talking: it must not hold back the end of their command.
        theirs = FrameHistory.theirs(echo, len(loud))
        self._ends.heard(self._n_dec, loud & theirs, voiced & theirs)
        self._frames.append(echo, power, voiced, self._sound.hiss(clean, loud))
        self._keep_audio(clean, front.unsuppressed)
        out: list[Heard | Withdrawn] = []
        if self._rec.AcceptWaveform(clean.tobytes()):
            out += self._evaluate(json.loads(self._rec.Result()))
            self._new_utterance()
            return out
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        # The partial's best path may differ from the final one ("arched" for "uh
        # back arched"), so any phrase's last word is enough to try; after a word
        # that only begins phrases ("next") the rest may be under the noise.
        last = partial.rsplit(maxsplit=1)[-1] if partial.strip() else ""
        if self._ends.utterance_over(self._n_dec, partial, last in self._last_words, last in self._first_words):
            out += self._end_utterance()
        return out

    def _rest_if_unvoiced(self) -> None:
        """Let the decoder rest after ``idle_after_s`` with no voice."""
        if self._ends.may_rest(self._n_dec):
            self._idle = True

    def _new_utterance(self) -> None:
        self._ends.new_utterance(self._n_dec)
        self._audio.clear()
        self._unsuppressed.clear()
        self._audio_len = 0
        self._audio_start = self._n_dec

    def _keep_audio(self, clean: np.ndarray, unsuppressed: np.ndarray) -> None:
        self._audio.append(clean)
        if self.settings.relisten_warps and not self.settings.relisten_suppressed:  # only the second listen reads it
            self._unsuppressed.append(dither(unsuppressed, self._relisten_dither))
        self._audio_len += len(clean)
        limit = int(self.settings.max_utterance_s * self.samplerate)
        while self._audio_len - len(self._audio[0]) >= limit:
            first = self._audio.popleft()
            if self._unsuppressed:
                self._unsuppressed.popleft()
            self._audio_len -= len(first)
            self._audio_start += len(first)

    def _evaluate(self, result: dict) -> list[Heard | Withdrawn]:
        words = result.get("result") or []
        if self._rec_origin_s:
            words = [dict(w, start=w["start"] + self._rec_origin_s, end=w["end"] + self._rec_origin_s) for w in words]
        before = (self._last_word_end, list(self._word_starts))
        self._matched = False
        out = self._evaluate_words(words)
        if self._matched or not self._audio or not self._person_spoke():
            return out  # a breath or a noise is not worth a second decode
        if self._audio_len > self.settings.relisten_max_s * self.samplerate:
            return out  # long talk, not a command: not worth a second decode
        again = self._listen_again()
        if again is None:
            again = self._match_takes()
            if again is None:
                return out
        elif self._voice_outside(again) > self.settings.relisten_voice_outside_s:
            # A phrase found inside a longer sentence ("how are you doing" as "doe ming").
            self._explain(again, "second listen: voice outside its words")
            return out
        # What the second listen or the takes found replaces the first decode:
        # its words are judged as if the first had not been heard.
        self._last_word_end, starts = before
        self._word_starts.clear()
        self._word_starts.extend(starts)
        return self._evaluate_words(again)

    def _listen_again(self) -> list[dict] | None:
        """The words of a second decode of the utterance (times as the first
        decode's), if one found a phrase."""
        if self._relisten is None:
            return None
        heard = self._audio if self.settings.relisten_suppressed else self._unsuppressed
        again = self._relisten.words(np.concatenate(heard), self._grammar_json, self._is_phrase)
        if again is None:
            return None
        offset = self._audio_start / self.samplerate
        return [{**w, "start": w["start"] + offset, "end": w["end"] + offset} for w in again[1]]

    def _match_takes(self) -> list[dict] | None:
        """The phrase of the intent whose enrolled takes the person's utterance
        matches (:class:`~voicecoach.speech.templates.TakeMatcher`), as words
        spread over it, or None. Their confidence is how far inside the
        matcher's limit the match is."""
        matcher = self.enrollment.takes
        if not matcher:
            return None
        audio = np.concatenate(self._audio)
        voiced = self._frames.their_voicing(self._audio_start, self._audio_start + self._audio_len, min_frames=1)
        if voiced is None:
            return None
        a, b = speech_stretch(audio, voiced)
        if b <= a:
            return None
        found = matcher.match(audio, a, b, {it.name for it in self.grammar.intents})
        if found is None:
            return None
        words = self.grammar.phrases_of(self.grammar.intent(found.intent))[0].split()
        start, span = (self._audio_start + a) / self.samplerate, (b - a) / self.samplerate / len(words)
        conf = 1.0 - found.distance / found.limit
        words = [{"word": w, "start": start + k * span, "end": start + (k + 1) * span, "conf": conf, "take": True}
                 for k, w in enumerate(words)]
        self._explain(words, f"matched the takes: distance {found.distance:.2f}, limit {found.limit:.2f}")
        return words

    def _person_spoke(self) -> bool:
        """True when the utterance held in ``self._audio`` has any of the person's voice."""
        return self._frames.their_voice_s(self._audio_start, self._audio_start + self._audio_len) > 0.0

    def _voice_outside(self, words: list[dict]) -> float:
        """Seconds of the person's voice in the utterance held in ``self._audio``
        before ``words`` start or after they end (word-time slack aside)."""
        first, last = self._audio_start, self._audio_start + self._audio_len
        start_n, end_n = self._sample_of(words[0]["start"]), self._sample_of(words[-1]["end"])
        return (self._frames.their_voice_s(first, start_n - self._slack_n, min_frames=1)
                + self._frames.their_voice_s(end_n + self._slack_n, last, min_frames=1, tail=self._tail(end_n)))

    def _is_phrase(self, words: list[dict]) -> bool:
        return self.grammar.match([w["word"] for w in words]) is not None

    def _evaluate_words(self, words: list[dict]) -> list[Heard | Withdrawn]:
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
        self._matched = True
        n_fillers, intent = found
        candidate = rules.Candidate(tuple(group), n_fillers, intent,
                                    self._sample_of(group[0]["start"]), self._sample_of(group[-1]["end"]))
        if self._rejection(rules.AT_ONCE, candidate):
            return []
        heard = Heard(
            intent=intent.name,
            kind=intent.kind,
            text=self.grammar.to_display(" ".join(names)),
            start=self._time_of(candidate.start_n),
            end=self._time_of(candidate.end_n),
            emitted=emitted,
            confidence=round(candidate.confidence, 3),
            final=False,
        )
        if self._due(candidate.end_n, at_end=False):
            # What follows the words has been heard already (a long pause before
            # the decoder's own endpoint): settled now.
            return self._verdict(heard, candidate, announced=False)
        self._unsettled.append((heard, candidate))
        return [heard] if self.provisional else []

    def _rejection(self, stage: tuple[rules.Rule, ...], candidate: rules.Candidate) -> str | None:
        """The first rule of ``stage`` that rejects ``candidate``, or None; under
        ``explain`` every rule of the stage is asked, and a rejection recorded."""
        if self.explain is None:
            return rules.first_rejection(stage, self, candidate)
        names = rules.rejections(stage, self, candidate)
        if names:
            self._explain(list(candidate.words), names[0], names[1:])
        return names[0] if names else None

    def _explain(self, group: list[dict], verdict: str, also: tuple[str, ...] = ()) -> None:
        if self.explain is not None:
            self.explain.append(Explained(
                self._time_of(self._sample_of(group[0]["start"])),
                self._time_of(self._sample_of(group[-1]["end"])),
                " ".join(f"{w['word']}:{float(w.get('conf', 0.0)):.2f}" for w in group), verdict, also))

    # -- evidence the rules ask for (voicecoach.speech.rules.Evidence) -----------------------

    def min_confidence(self, c: rules.Candidate) -> float:
        """The lowest phrase-word confidence accepted for the candidate's intent
        (``min_confidence``, or the person's enrolled floor for it); none for a
        match of the person's takes, whose own limit has judged it."""
        if c.words[0].get("take"):
            return 0.0
        return self.enrollment.floor(c.intent.name, self.settings.min_confidence)

    def coach_was_speaking(self, c: rules.Candidate) -> bool:
        """True when the words overlap the half-duplex gate (coach audible, no canceller)."""
        return self._gate.overlaps(self._time_of(c.start_n), self._time_of(c.end_n))

    def coach_said(self, c: rules.Candidate) -> bool:
        """True when the coach was saying a sentence that holds the candidate's phrase."""
        return self._coach_words.said(c.intent.name, self._time_of(c.start_n), self._time_of(c.end_n))

    def echo_moved(self, c: rules.Candidate) -> bool:
        """True when the coach played while the words were said and the echo aligner
        had the echo off the place it reads the far end from (see ``EchoAligner.in_doubt``)."""
        return self._front.echo_in_doubt(self._input_index(c.start_n), self._input_index(c.end_n))

    def confirmed(self, c: rules.Candidate) -> bool:
        """True when an open-vocabulary decode of the words' audio holds the phrase."""
        return self._verified([w["word"] for w in c.phrase_words], c.start_n, c.end_n)

    def word_starts_after(self, end_n: int) -> bool:
        """True when the decoder heard a word (fillers aside) start in the run-on window after ``end_n``."""
        a, b = end_n + self._slack_n, self._run_on_end(end_n)
        return any(a <= s < b for s in self._word_starts)

    def voice_runs_on(self, c: rules.Candidate) -> bool:
        """True when the person's voice adds up to ``run_on_voiced_s`` in the run-on window after the words."""
        a, b = c.end_n + self._slack_n, self._run_on_end(c.end_n)
        return (self._frames.their_voice_s(a, min(b, self._n_dec), tail=self._tail(c.end_n), floor_db=self._person_floor(c))
                >= self.settings.run_on_voiced_s)

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
        a stretch of voicing.
        """
        for before, after in zip(words, words[1:]):
            a_n = self._sample_of(before["end"]) + self._slack_n
            b_n = self._sample_of(after["start"]) - self._slack_n
            if self._frames.their_voice_s(a_n, b_n, min_frames=MIN_VOICED_RUN, tail=self._tail(a_n - self._slack_n)) > 0:
                return True
        return False

    def follows_voice(self, c: rules.Candidate) -> bool:
        """True when the person's voice ends just before the words (see ``control_lead_in_s``)."""
        b = self._frames.voiced_onset(c.start_n) - self._slack_n
        a = b - int(self.settings.control_lead_in_s * self.samplerate)
        return (self._frames.their_voice_s(a, b, min_frames=MIN_VOICED_RUN, floor_db=self._person_floor(c))
                >= self.settings.run_on_voiced_s)

    def speech_after(self, c: rules.Candidate) -> bool:
        """True when the person's voice goes on right after the phrase.

        The grammar has few words besides the commands, and the decoder often
        passes over other speech as silence ("repeat [after me]" came out as
        "repeat"), so the words alone cannot tell a command said on its own
        from the start of a sentence; voiced sound that is not echo can.
        (Before the phrase, :meth:`speech_before` looks further back: a short
        filler, or words ended a moment earlier, must not cost a command;
        "hello there. start workout" is one.)
        """
        gap, end_n = self._slack_n, c.end_n
        span = int(self.settings.context_s * self.samplerate)
        after = self._frames.voiced_share(end_n + gap, min(end_n + gap + span, self._n_dec), tail=self._tail(end_n),
                                          floor_db=self._person_floor(c))
        return after > self.settings.context_voiced_share

    def _person_floor(self, c: rules.Candidate) -> float | None:
        """dB under which voice around the candidate is someone farther away, not the
        person who said it (``person_range_db`` under its words' loudest frame)."""
        if not self.settings.person_range_db:
            return None
        loudest = self._frames.loudest_db(c.start_n, c.end_n)
        return None if loudest is None else loudest - self.settings.person_range_db

    def _tail(self, words_end_n: int) -> Tail | None:
        """The room's tail of words ending at ``words_end_n``, as the settings allow for it."""
        return Tail(words_end_n, self.settings.room_rt60_s) if self.settings.room_rt60_s > 0 else None

    def speech_before(self, c: rules.Candidate) -> bool:
        """True when the person has been talking right up to the phrase."""
        if not self.settings.lead_in_s:
            return False
        gap, start_n = self._slack_n, c.start_n
        span = int(self.settings.lead_in_s * self.samplerate)
        return (self._frames.voiced_share(start_n - gap - span, start_n - gap, floor_db=self._person_floor(c))
                > self.settings.lead_in_voiced_share)

    def louder_than_echo(self, start_n: int, end_n: int) -> bool:
        """False when most of the power over these samples is the coach's echo."""
        db = self._frames.not_echo_db(start_n, end_n)
        return db is None or db >= self.settings.echo_margin_db  # None: no echo there, or no evidence

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
    as just "arched" (docs/recognizer.md).
    """
    with_fillers = tuple(
        f"{f} {p}" for it in grammar.intents for p in grammar.phrases_of(it) for f in grammar.fillers_for(it.kind)
    )
    return tuple(grammar.phrases) + with_fillers + grammar.all_fillers + tuple(distractor_words) + (UNK,)


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
