"""The first end-to-end check of the real parts: espeak-ng speaks, Vosk hears.

pyttsx3 (espeak-ng driver) renders each phrase to a WAV file, and the real small
English model with a two-phrase grammar must recognise it from that file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import numpy as np
import pytest
import soxr

from voicecoach.speech.recognizer import dither


def render_with_pyttsx3(text: str, path) -> tuple[np.ndarray, int]:
    # In a process of its own: pyttsx3's espeak engine is a per-process singleton
    # that voicecoach.speech.tts drives from its own thread; using it from this
    # thread too can hang its event loop.
    script = (
        "import pyttsx3, sys; e = pyttsx3.init(); "
        "e.save_to_file(sys.argv[1], sys.argv[2]); e.runAndWait()"
    )
    subprocess.run([sys.executable, "-c", script, text, str(path)], check=True, timeout=60)
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    return pcm.astype(np.float32) / 32768, rate


@pytest.mark.parametrize("phrase", ["back arched", "stop point"])
def test_espeak_phrase_is_recognised_with_a_two_phrase_grammar(tmp_path, vosk_model, phrase):
    import vosk

    audio, rate = render_with_pyttsx3(phrase, tmp_path / "phrase.wav")
    assert len(audio) > rate // 4, "espeak-ng rendered almost nothing"
    audio16k = soxr.resample(audio, rate, 16000)
    pad = np.zeros(8000, np.float32)
    pcm = (np.clip(np.concatenate([pad, audio16k, pad, pad]), -1, 1) * 32767).astype(np.int16)
    # load_model turns Kaldi's own dither off: the decoder is fed it as CommandRecognizer does.
    pcm = dither(pcm, np.random.default_rng(0)).tobytes()

    rec = vosk.KaldiRecognizer(vosk_model, 16000, json.dumps(["back arched", "stop point", "[unk]"]))
    texts = []
    for i in range(0, len(pcm), 3200):  # 100 ms blocks, as a live stream would deliver them
        if rec.AcceptWaveform(pcm[i : i + 3200]):
            texts.append(json.loads(rec.Result())["text"])
    texts.append(json.loads(rec.FinalResult())["text"])
    assert [t for t in texts if t] == [phrase]
