"""Recognizer settings given on a benchmark's command line (``--set KEY=VALUE``)."""

from __future__ import annotations


def setting_value(text: str):
    """A setting's value from the command line: a number, true/false/none, a tuple
    of names joined by "+" ("coach+numbers", "coach+" for one name, "()" for none), or text."""
    if text == "()" or "+" in text:
        return tuple(t for t in text.strip("()").split("+") if t)
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_settings(items: list[str]) -> dict:
    """``["min_confidence=0.5", ...]`` as keyword arguments of RecognizerSettings."""
    settings = {}
    for item in items:
        key, _, value = item.partition("=")
        settings[key] = setting_value(value)
    return settings
