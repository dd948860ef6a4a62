"""Record modes (as vcrpy's cassettes): whether a request replays its recording, is recorded
from the upstream, or is refused; and the config overrides ``mockverse record`` serves with."""

from __future__ import annotations

from mockverse.reality.ratio import SettingsError, parse_settings

RECORD_MODES = ("once", "new_episodes", "none", "all")


def record_action(mode: str, had_recordings: bool, matched: bool) -> str:
    """What record mode ``mode`` does with one request, as vcrpy does with a cassette (the workspace):
    ``"replay"`` its recording, ``"record"`` it from the upstream, or ``"refuse"`` it.

    A request is matched when a recording has its method, path and query. ``all`` always records;
    ``new_episodes`` replays matched requests and records the others; ``none`` replays and refuses
    the others, never calling the upstream; ``once`` records everything when the workspace had no
    recordings when the server first served it, and otherwise acts as ``none``.
    """
    if mode == "all" or (mode == "once" and not had_recordings):
        return "record"
    if mode == "new_episodes":
        return "replay" if matched else "record"
    return "replay" if matched else "refuse"


def apply_record_mode(config_overrides: dict, upstream: str, mode: str | None = None) -> dict:
    """``mockverse record --upstream URL [--record-mode M]``: the config overrides that proxy and record.

    Returns a new dict: ``config_overrides`` with ``reality_continuum.enabled``, ``.record`` and
    ``.upstream`` set (and ``.record_mode`` when given). Raises ValueError when ``upstream`` is not
    an http(s) URL or ``mode`` is not a record mode.
    """
    try:
        parse_settings({"upstream": upstream})
    except SettingsError as exc:
        raise ValueError(f"--upstream {exc.message}") from None
    if mode is not None and mode not in RECORD_MODES:
        raise ValueError(f"--record-mode must be one of {', '.join(RECORD_MODES)}, got '{mode}'")
    merged = dict(config_overrides)
    section = dict(merged.get("reality_continuum") or {})
    section.update({"enabled": True, "record": True, "upstream": upstream})
    if mode is not None:
        section["record_mode"] = mode
    merged["reality_continuum"] = section
    return merged
