"""argparse value types shared by the ``govkit`` commands."""

from __future__ import annotations

import argparse
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from govkit.cli._i18n import t
from govkit.clock import require_aware

_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def aware_time(text: str) -> datetime:
    """An ISO 8601 time with a UTC offset."""
    try:
        return require_aware(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(t("type.time", "en")) from None
    except Exception:
        raise argparse.ArgumentTypeError(t("type.time_offset", "en")) from None


def duration(text: str) -> timedelta:
    """Seconds, or a number with s, m, h or d."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(t("type.duration", "en"))
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def iso_date(text: str) -> date:
    """A calendar date ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(t("type.date", "en")) from None


def name_value(text: str) -> tuple[str, str]:
    """``NAME=VALUE``, the value as text."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(t("type.name_value", "en"))
    return name, value


def name_json_value(text: str) -> tuple[str, Any]:
    """``NAME=VALUE``, the value parsed as JSON when it is JSON, else text."""
    name, value = name_value(text)
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value
