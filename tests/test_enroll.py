"""``voicecoach enroll``: the takes' checks, the enrollment file, and the command line.

Takes are real espeak-ng speech; the CLI runs as the user runs it, in a
subprocess, against the real model.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from speech_support import speak, write_wav
from voicecoach.enroll import file as enrollment_file
from voicecoach.speech.settings import RecognizerSettings
from voicecoach.errors import UserError
from voicecoach.speech.enrollment import Enrollment
from voicecoach.speech.takes import take_problem


def take(text="back arched", *, voice="en-us", speed=150, pitch=50, gain=1.0, lead=0.4, tail=0.5):
    s = speak(text, voice=voice, speed=speed, pitch=pitch) * gain
    return np.concatenate([np.zeros(int(lead * 16000), np.float32), s, np.zeros(int(tail * 16000), np.float32)])


# --- is a take usable? ---------------------------------------------------------------------

def test_a_phrase_with_quiet_around_it_is_a_good_take():
    assert take_problem(take()) is None
    assert take_problem(take(gain=0.1)) is None  # soft, but well above the noise floor


def test_too_quiet_clipped_cut_and_empty_takes_are_refused_with_the_reason():
    x = take()
    assert take_problem(x * 0.005).startswith("too quiet")
    assert take_problem(np.clip(x * 5, -1, 1)).startswith("clipped")
    s = speak("back arched")
    assert take_problem(np.concatenate([s[len(s) // 3:], np.zeros(8000, np.float32)])).startswith("cut off at the start")
    assert take_problem(np.concatenate([np.zeros(8000, np.float32), s[: len(s) // 2]])).startswith("cut off at the end")
    assert take_problem(np.zeros(16000, np.float32)).startswith("too quiet")
    rng = np.random.default_rng(0)
    assert take_problem((rng.standard_normal(16000) * 0.05).astype(np.float32)) == "no speech above the background noise"
    assert take_problem(take("stop point " * 8, speed=120)).startswith("too long")


# --- the file ---------------------------------------------------------------------------

def test_the_file_round_trips_is_private_and_written_whole(isolated_dirs):
    pcm = (take() * 32767).astype(np.int16)
    stored = enrollment_file.Enrolled({"back_arched": [enrollment_file.Take(pcm, "a.wav")]},
                                      Enrollment({"doming": ("down one",)}, {"help": 0.42}))
    path = enrollment_file.save(stored)
    assert path == isolated_dirs / "enrollment.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["enrollment.json"]  # no temporary file left
    back = enrollment_file.load()
    assert np.array_equal(back.takes["back_arched"][0].pcm, pcm)
    assert back.takes["back_arched"][0].source == "a.wav"
    assert back.enrollment == stored.enrollment
    data = json.loads(path.read_text())
    assert (data["format"], data["version"]) == ("voicecoach enrollment", 1)


def test_a_damaged_or_newer_file_is_a_user_error_and_is_left_alone(isolated_dirs):
    assert enrollment_file.load() is None
    path = isolated_dirs / "enrollment.json"
    isolated_dirs.mkdir()
    for text, says in (("{not json", "damaged"),
                       ('{"format": "voicecoach enrollment", "version": 1, "enrollment": {"floors": {"help": 7}}}',
                        "damaged"),
                       ('{"format": "voicecoach enrollment", "version": 1, "takes": {"pause": [{"pcm16": "%%"}]}}',
                        "damaged"),
                       ('{"format": "voicecoach enrollment", "version": 2}', "newer voicecoach")):
        path.write_text(text)
        with pytest.raises(UserError, match=says):
            enrollment_file.load()
        assert path.read_text() == text


# --- the command line ----------------------------------------------------------------------

def voicecoach(*args, env=None):
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_mistakes_end_in_one_line_and_store_nothing(tmp_path, isolated_dirs):
    good = tmp_path / "good.wav"
    write_wav(good, take())
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, take() * 0.005)
    junk = tmp_path / "junk.wav"
    junk.write_text("not a wav")
    cases = [
        (["enroll", "nope", str(good), str(good)], "unknown intent 'nope'; one of: stop_point, back_arched"),
        (["enroll", "back_arched", str(good)], "give 2 to 10 recordings"),
        (["enroll", "back_arched", str(good), str(junk)], f"{junk}: not a usable WAV file"),
        (["enroll", "back arched", str(quiet), str(good)], f"{quiet}: not a usable take: too quiet"),
        (["enroll", "--reset", "pause"], "no takes of 'pause' are enrolled"),
        (["enroll", "--list", "--reset"], "not both"),
    ]
    for args, says in cases:
        r = voicecoach(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, (args, r.stderr)
    assert not (isolated_dirs / "enrollment.json").exists()
    r = voicecoach("enroll", "--list")
    assert r.returncode == 0 and r.stdout.startswith("no enrollment")


@pytest.mark.model
def test_enroll_from_files_stores_the_takes_and_list_and_reset_show_it(tmp_path, isolated_dirs, model_path):
    files = []
    for i, (speed, pitch) in enumerate(((140, 45), (165, 55), (155, 62))):
        files.append(tmp_path / f"take{i}.wav")
        write_wav(files[-1], take("good rep", speed=speed, pitch=pitch))
    r = voicecoach("enroll", "good rep", *map(str, files))
    assert r.returncode == 0, r.stderr
    assert "good_rep: 3 takes stored" in r.stdout
    path = isolated_dirs / "enrollment.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [len(t.pcm) > 8000 for t in enrollment_file.load().takes["good_rep"]] == [True] * 3
    r = voicecoach("enroll", "--list")
    assert r.returncode == 0 and "good_rep" in r.stdout and "3 takes" in r.stdout
    r = voicecoach("enroll", "--reset", "good_rep")
    assert r.returncode == 0 and not path.exists()


# --- what enrollment changes, chosen from the takes ----------------------------------------

TAKES = ((140, 45), (165, 55), (155, 62))


def takes_of(text, voice="en-029", renderings=TAKES):
    from speech_support import to_int16

    return [to_int16(speak(text, voice=voice, speed=s, pitch=p)) for s, p in renderings]


MISSES_EN029_SLOWER = RecognizerSettings(relisten_suppressed=True)
"""The recognizer's second listen, hearing the takes before noise suppression,
finds en-029's "slower"; listening to the suppressed audio, as the first decode
does, it misses it, and these tests need a word the recognizer misses."""


def heard(model, grammar, clip, enrollment=None, settings=None):
    from speech_support import to_int16
    from voicecoach.speech.calibration import listen
    from voicecoach.speech.recognizer import CommandRecognizer

    rec = CommandRecognizer(model, grammar, echo_canceller=False, enrollment=enrollment, settings=settings)
    return listen(rec, to_int16(clip)).heard


@pytest.mark.model
def test_a_spelling_learnt_from_the_takes_hears_other_renderings_of_the_voice(vosk_model):
    """en-029's "slower" is decoded as "slow up": enrollment learns it, and then
    hears renderings of the voice that no take was, which it missed before."""
    from voicecoach.speech.calibration import calibrate
    from voicecoach.speech.grammar import load_grammar

    settings = MISSES_EN029_SLOWER
    grammar = load_grammar(model=vosk_model)
    takes = {"slower": takes_of("slower"), "stop_point": takes_of("stop point"), "pause": takes_of("pause")}
    enrollment, log = calibrate(vosk_model, grammar, takes, settings=settings)
    assert enrollment.spellings == {"slower": ("slow up",)}, log
    assert not enrollment.floors
    for speed, pitch in ((135, 50), (140, 40), (140, 66)):
        clip = speak("slower", voice="en-029", speed=speed, pitch=pitch)
        assert heard(vosk_model, grammar, clip, settings=settings) == []
        assert heard(vosk_model, grammar, clip, enrollment, settings=settings) == ["slower"]
    # Shown as the intent's phrase, not as the words the decoder heard.
    g = enrollment.apply(grammar)
    assert g.intent_of("slow up").name == "slower" and g.to_display("okay slow up") == "okay slower"


@pytest.mark.model
def test_a_spelling_that_takes_another_intents_take_is_refused(vosk_model):
    """Takes of "faster" that say "slow up" (as en-029 says "slower") would teach
    "slow up" for faster: it hears them, but a "slower" take comes out as faster."""
    from voicecoach.speech.calibration import calibrate
    from voicecoach.speech.grammar import load_grammar

    grammar = load_grammar(model=vosk_model)
    takes = {"slower": takes_of("slower"), "faster": takes_of("slow up", voice="en-us")}
    enrollment, log = calibrate(vosk_model, grammar, takes, settings=MISSES_EN029_SLOWER)
    # Both ways round: "slow up" for slower would take the faster takes, for faster a slower take.
    assert not enrollment.spellings, log
    assert any(line.startswith("faster: spelling 'slow up' not kept") and "of slower" in line for line in log), log
    assert any(line.startswith("slower: spelling 'slow up' not kept") and "of faster" in line for line in log), log



@pytest.mark.model
def test_a_spelling_or_floor_that_hears_no_more_of_its_takes_is_not_kept(vosk_model):
    """Each take is en-029's "slower" and, 0.3 s on, "hmm": the decoder hears "slow up",
    but with "slow up" spelled for slower the voice still runs on after it, so the
    recognizer takes it back and hears none of the takes. Neither the spelling nor a
    lower floor makes the recognizer hear more of them: neither is kept. (No other
    intent's takes here: nothing else could refuse them.)"""
    from speech_support import to_int16
    from voicecoach.speech.calibration import calibrate
    from voicecoach.speech.grammar import load_grammar

    grammar = load_grammar(model=vosk_model)
    gap = np.zeros(int(0.3 * 16000), np.float32)
    takes = [to_int16(np.concatenate([speak("slower", voice="en-029", speed=s, pitch=p), gap,
                                      speak("hmm", voice="en-029", speed=s, pitch=p)])) for s, p in TAKES]
    assert [heard(vosk_model, grammar, t) for t in takes] == [[], [], []]
    enrollment, log = calibrate(vosk_model, grammar, {"slower": takes})
    assert not enrollment.spellings and not enrollment.floors, log
    assert "slower: spelling 'slow up' not kept: hears no more of its takes" in log, log


def test_a_personal_spelling_never_shadows_a_phrase_of_the_grammar():
    from voicecoach.speech.grammar import load_grammar

    grammar = load_grammar()
    g = Enrollment({"slower": ("slow up", "pause"), "nothing_such": ("uh huh",)}).apply(grammar)
    assert g.intent_of("pause").name == "pause"
    assert g.intent_of("slow up").name == "slower"
    assert g.intent_of("uh huh") is None
    assert "slow up" in g.phrases_of(g.intent("slower")) and "pause" not in g.phrases_of(g.intent("slower"))


@pytest.mark.model
def test_an_enrolled_floor_replaces_min_confidence_for_its_intent_only(vosk_model):
    """en-gb "kelp" is heard as "help" at about 0.41 (rule low_confidence's case): a
    floor of 0.35 enrolled for help lets it through; one for another intent does not."""
    from voicecoach.speech.grammar import load_grammar

    from test_recognizer import placed, run
    from voicecoach.speech.recognizer import CommandRecognizer

    grammar = load_grammar(model=vosk_model)
    clip = placed("kelp", voice="en-gb-x-rp")[0]  # as in tests/test_rule_cases.py

    def intents(enrollment=None):
        return [h.intent for h in run(CommandRecognizer(vosk_model, grammar, enrollment=enrollment), clip)]

    assert intents() == []
    assert intents(Enrollment(floors={"pause": 0.35})) == []
    assert intents(Enrollment(floors={"help": 0.35})) == ["help"]


@pytest.mark.model
def test_recognize_uses_the_stored_enrollment_unless_told_not_to(tmp_path, isolated_dirs, model_path):
    from test_recognizer import placed

    wav = tmp_path / "kelp.wav"
    write_wav(wav, placed("kelp", voice="en-gb-x-rp")[0])  # heard as "help" at ~0.41
    enrollment_file.save(enrollment_file.Enrolled({}, Enrollment(floors={"help": 0.35})))
    r = voicecoach("recognize", "--json", str(wav))
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["intent"] for line in r.stdout.splitlines()] == ["help"]
    r = voicecoach("recognize", "--json", "--no-enrollment", str(wav))
    assert r.returncode == 0 and r.stdout == "", r.stderr
    (isolated_dirs / "enrollment.json").write_text("{broken")
    r = voicecoach("recognize", str(wav))
    assert r.returncode == 2 and "enrollment file is damaged" in r.stderr and len(r.stderr.splitlines()) == 1


# --- run, simulate and serve use the stored enrollment ---------------------------------------

# A spelling as `enroll` stores one (calibration chooses them from the takes): "green
# kettle" is no phrase of the grammar, so without the enrollment it is nobody's command.
SPELLED = Enrollment(spellings={"how_many": ("green kettle",)})


@pytest.mark.model
def test_simulate_hears_an_enrolled_spelling_unless_told_not_to(tmp_path, isolated_dirs, model_path):
    """Said in the first rest (silent from ~44.5 s to "Three." at ~49.9 s of this program)."""
    from speech_support import build_track, speak
    from voicecoach import cli

    config = tmp_path / "short.toml"
    config.write_text("[program]\nsets = 2\nreps = 1\nwarmup = false\nrest_s = 10.0\n")
    mic = tmp_path / "mic.wav"
    write_wav(mic, build_track([(45.5, speak("green kettle", voice="en-us", speed=150))], 49.0))
    enrollment_file.save(enrollment_file.Enrolled({}, SPELLED))

    def commands(*extra: str) -> list[tuple[str, str]]:
        name = "without" if extra else "with"
        events = tmp_path / f"{name}.jsonl"
        code = cli.main(["simulate", "--mic", str(mic), "--out", str(tmp_path / f"{name}.wav"), "--events",
                         str(events), "--config", str(config), "--db", str(tmp_path / f"{name}.db"), *extra])
        assert code == 0
        lines = [json.loads(line) for line in events.read_text().splitlines()]
        return [(e["intent"], e["text"]) for e in lines if e["type"] == "command"]

    assert commands() == [("how_many", "how many")]  # shown as the intent's phrase
    assert commands("--no-enrollment") == []


def test_run_and_simulate_read_the_stored_enrollment_unless_told_not_to(tmp_path, isolated_dirs):
    """The enrollment is read as the recognizer is made: a damaged file stops `run` and
    `simulate` in one line before any audio; with --no-enrollment it is not read, and
    the next thing they need (here a model, pointed at nothing) is what is missing."""
    mic = tmp_path / "mic.wav"
    write_wav(mic, np.zeros(16000, np.float32))
    (isolated_dirs / "enrollment.json").parent.mkdir(parents=True, exist_ok=True)
    (isolated_dirs / "enrollment.json").write_text("{broken")
    no_model = {"VOICECOACH_MODEL": str(tmp_path / "no-model")}
    sim = ["simulate", "--mic", str(mic), "--out", str(tmp_path / "out.wav"), "--events", str(tmp_path / "ev.jsonl")]
    for command in (["run"], sim):
        r = voicecoach(*command, env=no_model)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, (command, r.stderr)
        assert "enrollment file is damaged" in r.stderr, (command, r.stderr)
        r = voicecoach(*command, "--no-enrollment", env=no_model)
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, (command, r.stderr)
        assert "enrollment" not in r.stderr and "no-model" in r.stderr, (command, r.stderr)
    assert (isolated_dirs / "enrollment.json").read_text() == "{broken"  # left for the person to see
