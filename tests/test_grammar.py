"""The command grammar file: loading, checking against the model, matching phrases."""

from __future__ import annotations

import re

import pytest

from voicecoach.errors import UserError
from voicecoach.speech.grammar import load_grammar

REQUIRED = {
    "stop_point": ("mark", "stop point"),
    "back_arched": ("mark", "back arched"),
    "good_rep": ("mark", "good rep"),
    "doming": ("mark", "doming"),
    "pause": ("control", "pause"),
    "resume": ("control", "resume"),
    "next_set": ("control", "next set"),
    "stop_workout": ("control", "stop workout"),
    "how_many": ("control", "how many"),
    "slower": ("control", "slower"),
    "faster": ("control", "faster"),
    "repeat": ("control", "repeat"),
    "help": ("control", "what can i say"),
    "start_workout": ("control", "start workout"),
}


def test_shipped_grammar_has_every_required_intent_and_every_word_is_known(vosk_model):
    g = load_grammar(model=vosk_model)
    names = {i.name: i for i in g.intents}
    for name, (kind, phrase) in REQUIRED.items():
        assert names[name].kind == kind
        assert phrase in names[name].phrases
        assert g.intent_of(phrase).name == name
    assert g.intent_of("continue").name == "resume"
    assert g.intent_of("help").name == "help"


@pytest.mark.parametrize(
    "words, intent",
    [
        ("okay stop point", "stop_point"),
        ("uh back arched", "back_arched"),
        ("my back arched", "back_arched"),
        ("Okay, um, doming!", "doming"),
        ("find your stop point", None),
        ("stop point please", None),
        ("okay", None),
        ("", None),
        ("okay uh um stop point", None),  # at most two fillers
        # "my" is a mark filler: a note about the body, not the end of a sentence.
        ("my stop point", "stop_point"),
        ("okay my doming", "doming"),
        ("okay pause", "pause"),
        ("my pause", None),
        ("oh my pause", None),
        ("my my say again", None),
    ],
)
def test_fillers_before_a_phrase_count_but_other_words_do_not(words, intent):
    found = load_grammar().intent_of(words)
    assert (found.name if found else None) == intent


def test_mark_fillers_are_apart_and_a_phrase_keeps_its_own_first_word():
    g = load_grammar()
    assert "my" in g.mark_fillers and "my" not in g.fillers
    assert g.match("my back arched".split())[0] == 0  # "my" is the phrase's own word here, not a filler


LEAD_INS = (
    'fillers = ["okay", "uh", "um"]\nmark_fillers = ["my"]\nlead_ins = ["that", "that\'s", "was", "a"]\n\n'
    '[intents.stop_point]\nkind = "mark"\nphrases = ["stop point"]\n\n'
    '[intents.pause]\nkind = "control"\nphrases = ["pause"]\n'
)


@pytest.mark.parametrize(
    "words, intent",
    [
        # A short sentence that is still the mark, however its start is heard.
        ("that's a stop point", "stop_point"),
        ("that's was a stop point", "stop_point"),
        ("was a stop point", "stop_point"),
        ("uh that was my stop point", "stop_point"),
        # Up to three lead-ins besides the fillers, and only before a mark.
        ("that was a that stop point", None),
        ("that was a pause", None),
        ("okay uh um stop point", None),
        ("it was a stop point", None),  # "it" is no lead-in here
    ],
)
def test_lead_ins_go_before_a_mark_only_and_are_counted_apart_from_fillers(tmp_path, words, intent):
    g = load_grammar(_write(tmp_path, LEAD_INS))
    found = g.match(words.split())
    assert (found[1].name if found else None) == intent
    if found:
        assert words.split()[found[0]:] == ["stop", "point"]  # the lead-ins are not the phrase's words


def test_the_decoder_is_given_only_filler_phrases_the_grammar_accepts():
    from voicecoach.speech.recognizer import decoder_sentences

    sentences = set(decoder_sentences(load_grammar()))
    assert {"okay pause", "my stop point", "okay doe ming", "my"} <= sentences
    assert "my pause" not in sentences and "my say again" not in sentences


@pytest.mark.parametrize("text, intents", [
    ("Floor test: ... and say stop point where it starts to lift.", {"stop_point", "end_hold"}),
    ("Stop, pull your belly button in and up, and say doming.", {"doming", "end_hold"}),  # as written, not "doe ming"
    ("And down. Plank done.", {"end_hold"}),  # the plank's own phrases too: the coach may say them in any phase
    ("Paused. Say resume when you're ready.", {"resume"}),
    ("The pauses between reps are short.", set()),  # a phrase only as a whole word
    ("Set one of eight.", set()),
])
def test_the_commands_a_sentence_names(text, intents):
    assert load_grammar().intents_in(text) == intents


def test_sounds_like_maps_both_ways():
    g = load_grammar()
    assert g.to_model("doming") == "doe ming"
    assert g.to_display("uh doe ming") == "uh doming"
    assert g.intent_of("doe ming").name == "doming"
    assert "doe ming" in g.phrases


def test_a_word_may_have_several_spellings_each_heard_as_it(tmp_path, vosk_model):
    from voicecoach.speech.recognizer import decoder_sentences

    g = load_grammar(_write(tmp_path, '[sounds_like]\ndoming = ["doe ming", "domingo"]\n\n'
                                      '[intents.d]\nkind = "mark"\nphrases = ["doming", "belly doming"]\n'), model=vosk_model)
    assert g.to_model("doming") == "doe ming"  # the first spelling is the one given
    assert {"doe ming", "domingo", "belly doe ming", "belly domingo"} == set(g.phrases)
    assert g.intent_of("domingo").name == "d"
    assert g.to_display("belly domingo") == "belly doming"
    assert {"domingo", "belly domingo"} <= set(decoder_sentences(g))


def _write(tmp_path, text):
    p = tmp_path / "g.toml"
    p.write_text(text)
    return p


def test_a_word_missing_from_the_model_names_file_line_and_word(tmp_path, vosk_model):
    p = _write(
        tmp_path,
        'fillers = ["okay"]\n\n[intents.pause]\nkind = "control"\nphrases = ["pause"]\n\n'
        '[intents.odd]\nkind = "mark"\nphrases = ["stop", "flurbzat now"]\n',
    )
    with pytest.raises(UserError) as err:
        load_grammar(p, model=vosk_model)
    msg = str(err.value)
    assert f"{p}:9:" in msg and "'flurbzat'" in msg and "vocabulary" in msg
    assert "\n" not in msg


def test_a_missing_mark_filler_is_reported_with_its_line(tmp_path, vosk_model):
    p = _write(tmp_path, 'fillers = ["okay"]\nmark_fillers = ["flurbzat"]\n\n[intents.d]\nkind = "mark"\nphrases = ["stop point"]\n')
    with pytest.raises(UserError, match=re.escape(f"{p}:2:") + ".*'flurbzat'"):
        load_grammar(p, model=vosk_model)


def test_a_missing_lead_in_is_reported_with_its_line(tmp_path, vosk_model):
    p = _write(tmp_path, 'lead_ins = ["flurbzat"]\n\n[intents.d]\nkind = "mark"\nphrases = ["stop point"]\n')
    with pytest.raises(UserError, match=re.escape(f"{p}:1:") + ".*'flurbzat'"):
        load_grammar(p, model=vosk_model)


def test_a_missing_sounds_like_spelling_is_reported_too(tmp_path, vosk_model):
    p = _write(tmp_path, '[sounds_like]\ndoming = "doe flurbzat"\n\n[intents.d]\nkind = "mark"\nphrases = ["doming"]\n')
    with pytest.raises(UserError, match=re.escape(f"{p}:2:") + ".*'flurbzat'"):
        load_grammar(p, model=vosk_model)


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("", "no intents"),
        ("# only a comment\n", "no intents"),
        ("fillers = [\n", "malformed"),
        ("[intents.x]\nkind = 'mark'\nphrases = [\n", "malformed"),
        ("[intents.x]\nkind = 'other'\nphrases = ['pause']\n", r":2: intent 'x': kind must be"),
        ("[intents.x]\nkind = 'mark'\nphrases = []\n", "phrases must be a non-empty list"),
        ("[intents.x]\nkind = 'mark'\nphrases = ['stop 2 point']\n", "bad word"),
        ("[intents.x]\nkind = 'mark'\nphrases = ['pause']\n[intents.y]\nkind = 'control'\nphrases = ['pause']\n", "in both"),
        ("colour = 1\n[intents.x]\nkind = 'mark'\nphrases = ['pause']\n", ":1: unknown key 'colour'"),
        ("[intents.x]\nkind = 'mark'\nphrases = ['pause']\nweight = 2\n", ":4: intent 'x': unknown key 'weight'"),
        ("mark_fillers = 'my'\n[intents.x]\nkind = 'mark'\nphrases = ['pause']\n", ":1: 'mark_fillers' must be a list"),
        ("fillers = ['my']\nmark_fillers = ['uh', 'my']\n[intents.x]\nkind = 'mark'\nphrases = ['pause']\n",
         ":2: filler 'my' is in both fillers and mark_fillers"),
        ("mark_fillers = ['pause']\n[intents.x]\nkind = 'mark'\nphrases = ['pause']\n", ":4: phrase 'pause' is also a filler"),
        ("fillers = ['uh']\nlead_ins = ['was', 'uh']\n[intents.x]\nkind = 'mark'\nphrases = ['pause']\n",
         ":2: lead-in 'uh' is a filler already"),
        ("lead_ins = ['pause']\n[intents.x]\nkind = 'mark'\nphrases = ['pause']\n", ":4: phrase 'pause' is also a lead-in"),
        ("[sounds_like]\ndoming = []\n[intents.x]\nkind = 'mark'\nphrases = ['doming']\n", "or to a list of them"),
        ("[sounds_like]\ndoming = ['doe ming', 2]\n[intents.x]\nkind = 'mark'\nphrases = ['doming']\n", "or to a list of them"),
    ],
)
def test_bad_grammar_files_are_one_clear_line(tmp_path, text, pattern):
    p = _write(tmp_path, text)
    with pytest.raises(UserError) as err:
        load_grammar(p)
    msg = str(err.value)
    assert msg.startswith(str(p))
    assert re.search(pattern, msg), msg
    assert "\n" not in msg


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_grammar(tmp_path / "nope.toml")
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError, match=str(p)):
        load_grammar(p)


def test_an_intent_kept_for_a_phase_is_left_out_of_the_others(tmp_path):
    g = load_grammar(_write(tmp_path, '[intents.stop_point]\nkind = "mark"\nphrases = ["stop point"]\n\n'
                                      '[intents.end_hold]\nkind = "control"\nphrases = ["stop", "done"]\n'
                                      'during = "plank"\n'))
    assert g.phases == ("plank",)
    assert g.listening(None).phrases == ("stop point",) == g.listening("set").phrases
    assert set(g.listening("plank").phrases) == {"stop point", "stop", "done"}
    assert g.listening("plank").match(["done"])[1].name == "end_hold" and g.listening(None).match(["done"]) is None
    assert load_grammar().intent("end_hold").during == "plank"  # the shipped grammar's "stop" / "done"


def test_during_names_a_phase_or_is_an_error_with_its_line(tmp_path):
    p = _write(tmp_path, '[intents.end_hold]\nkind = "control"\nphrases = ["done"]\nduring = "lunch"\n')
    with pytest.raises(UserError, match=re.escape(f"{p}:4:") + ".*during must be one of 'plank', not 'lunch'"):
        load_grammar(p)


def test_the_first_word_of_a_spelled_word_is_a_lead_in_before_a_mark_only():
    # The decoder has "doe" only as the start of "doe ming" (doming), and hears a
    # filler as it: "uh back arched" as "doe back arched", "uh doming" as "doe doe ming".
    g = load_grammar()
    assert g.spelled_heads == ("doe",)
    assert g.match("doe back arched".split())[1].name == "back_arched"
    assert g.match("doe doe ming".split()) == (1, g.intent("doming"))
    assert g.match("doe ming".split()) == (0, g.intent("doming"))
    assert g.match("doe pause".split()) is None
    assert g.match("doe next set".split()) is None
    assert g.match(["doe"]) is None
