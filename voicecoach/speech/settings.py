"""The command recognizer's settings, with what each one decides.

How each value was chosen, and what it was measured to do, is in
docs/recognizer.md ("Settings").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RecognizerSettings:
    """Tuning knobs of :class:`~voicecoach.speech.recognizer.CommandRecognizer`.

    The defaults are the benchmarked ones; times are seconds of audio.
    """

    # -- which words count -------------------------------------------------------
    min_confidence: float = 0.50
    """Lowest per-word confidence accepted for the words of a phrase."""
    distractor_sets: tuple[str, ...] = ("coach", "numbers")
    """Which :mod:`~voicecoach.speech.vocabulary` word sets the decoder may choose instead."""
    spelled_gap_s: float = 0.1
    """A word the model lacks, spelled with several ("doe ming"), is one word: a
    longer pause inside it means other words were heard as its parts."""
    verify: bool = False
    """Confirm each candidate with an open-vocabulary decode of its audio (needs the
    model loaded with ``grammar_only=False``)."""
    max_utterance_s: float = 8.0
    """Audio kept for that second decode; longer utterances are not confirmed."""

    relisten_warps: tuple[float, ...] = (1.1, 0.9)
    """When an utterance's decode holds no phrase, decode it again with its voice
    warped by these factors in turn (:mod:`~voicecoach.speech.relisten`); empty: never."""
    relisten_suppressed: bool = False
    """The second listen decodes the utterance as the first did, noise suppressed;
    False: as the front end had it before noise suppression, a second front end
    (suppression loses some words that it keeps)."""
    relisten_level_dbfs: float | None = -12.0
    """An utterance whose loudest 30 ms is at least ``relisten_min_gain_db`` under
    this (dB under full scale) is heard again raised to it before the warps,
    by at most ``relisten_max_gain_db`` (:mod:`~voicecoach.speech.level`); None: never."""
    relisten_min_gain_db: float = 10.0
    """Closer than this to ``relisten_level_dbfs`` the utterance is as loud as the model needs."""
    relisten_max_gain_db: float = 30.0
    """The most an utterance is raised by: a raised room floor is a noise the model never heard."""
    relisten_max_s: float = 4.0
    """Utterances longer than this are talk: they get no second listen."""
    relisten_voice_outside_s: float = 0.15
    """A second listen's words must hold the person's voice: with more of it than
    this (about a short syllable) in the utterance outside them, they are a phrase
    found inside other talk, and are dropped."""

    # -- front end ---------------------------------------------------------------
    noise_suppression: int | None = 1
    """WebRTC noise suppression level 0-3 before decoding, or None for none."""
    aec: str = "linear"
    """``"linear"`` (keeps words spoken over the coach intact) or ``"webrtc"`` (AEC3)."""
    echo_judge: str = "linear"
    """What tells how much of each 10 ms frame is the coach's echo: ``"linear"``
    (the linear canceller's own estimate of the echo it leaves,
    :class:`~voicecoach.speech.echo.ResidualEcho`) or ``"aec3"`` (WebRTC's AEC3
    run beside the linear canceller: what its suppressor keeps is the person's)."""
    echo_judge_margin_db: float = 21.0
    """With the linear judge: the canceller's output is the person's where it is this
    many dB above the echo the canceller has been leaving (band by band)."""
    echo_margin_db: float = -20.0
    """A word heard while the coach talks counts only when the part of its power
    that is not echo (as the judge says) is at least this many dB of the whole."""

    # -- sound and voice (voicecoach.speech.features) ----------------------------
    vad_margin_db: float = 6.0
    """A 10 ms frame this far above the noise floor counts as sound."""
    voicing_threshold: float = 0.5
    """A sound frame counts as voiced when its normalised autocorrelation peaks at
    least this high at a pitch of 80-400 Hz (vowels ~0.7-0.95; breath, pink noise < 0.35)."""
    floor_window_s: float = 3.0
    """The noise floor is judged over this much recent audio ..."""
    floor_percentile: float = 10.0
    """... as this percentile of its 30 ms levels."""

    # -- when an utterance ends (voicecoach.speech.endpointing) ------------------
    end_silence_s: float = 0.2
    """Quiet time after a complete phrase before it is emitted. Shorter takes the
    first word of a sentence for a command ("resume [p]laying the song")."""
    end_unvoiced_s: float = 0.25
    """... or this long with no voiced sound (breathing and noise are not voiced; a
    sentence that goes on after the phrase is)."""
    steady_s: float = 0.6
    """A complete phrase unchanged in the partial result this long is emitted even if
    neither quiet nor unvoiced (the decoder shows new words up to ~0.3 s late)."""
    pause_s: float = 0.3
    """Quiet time after any sound before the utterance is finalised and judged."""
    prefix_pause_s: float = 0.6
    """... when the decoder's words so far end in a word that only begins phrases
    ("next"): the rest of the phrase may be sound under the noise."""
    split_gap_s: float = 0.35
    """A pause this long between words splits an utterance in two."""
    idle_after_s: float = 1.0
    """After this long with no voiced sound of the person's the decoder rests until
    the next voiced sound (most of a session is quiet or breathing)."""
    preroll_s: float = 0.5
    """Audio from just before a sound that is decoded with it when the decoder wakes."""

    # -- said on its own (voicecoach.speech.rules) --------------------------------
    isolation_s: float = 0.2
    """Anything decoded (not echo) ending less than this before a phrase makes it no command."""
    context_s: float = 0.4
    """Just after a phrase, over this long, ..."""
    context_voiced_share: float = 0.3
    """... more than this share of voiced frames that are not echo means the phrase
    starts a longer sentence, and is no command."""
    room_rt60_s: float = 1.0
    """The longest reverberation time of a room the coach allows for: after words,
    sound that stays under a line falling 60 dB in this long from their loudest
    end is the room's tail, not the person talking on (the two rules above and
    ``voice_runs_on``, ``voice_between_words``). 0: no tail is allowed for."""
    person_range_db: float = 12.0
    """Voice more than this many dB under the loudest frame of the phrase's words
    (fillers with them) is someone or something farther away (a television, music,
    people across the room), not the person going on talking, for the rules that
    look for the person's voice around a phrase. 0: all voice is the person's."""
    lead_in_s: float = 0.6
    """Just before a phrase and its fillers, over this long, ..."""
    lead_in_voiced_share: float = 0.5
    """... more than this share of voiced frames that are not echo means the phrase
    ends a sentence whose first words the decoder passed over. The window is longer
    than a filler the decoder may have missed ("uh")."""
    control_lead_in_s: float = 0.3
    """A control follows no voice of the person's: ``run_on_voiced_s`` of it in this
    long before the control's voiced onset means the decoder passed over the word
    it ended as silence ("[let's] start the workout"). Marks are let through: there
    the word passed over is most often a filler."""

    # -- settling: does the voice run on? (voicecoach.speech.rules) ---------------
    run_on_s: float = 0.6
    """A command is settled only when this long after its words has been heard
    (it is emitted before that only as provisional): ..."""
    run_on_voiced_s: float = 0.1
    """... and voice of the person's adding up to this long in it (a syllable;
    only stretches of 30 ms or more count) takes the command back."""
    run_on_words: bool = True
    """... and so does a word the decoder hears starting in it (not a filler, not
    echo): quiet speech can be under the voicing detector and still be heard as
    words ("repeat [after me]")."""
    suffix_hiss_s: tuple[float, float] = (0.04, 0.25)
    """A hiss (an /s/) of the person's, between these two lengths, that starts as
    the phrase's last word ends makes that word another one: "help[s]". Longer is
    breath; (0, 0) turns the rule off."""
    decoder_lag_s: float = 0.3
    """The decoder shows a word up to this long after it is said, so when anything
    sounded after a command, it is settled this long after its ``run_on_s``; after
    silence it is not kept waiting (a stop point's floor must reach the next lowering)."""
