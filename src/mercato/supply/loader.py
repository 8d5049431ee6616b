"""Read a twin file (JSON or TOML, by extension) into a validated :class:`~mercato.supply.model.Twin`.

Errors name the file (and, for syntax errors, the line)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from .errors import SupplyInputError
from .model import Twin
from .parse import parse_twin


def load_data(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SupplyInputError([f"cannot read the file: {exc.strerror or exc}"], str(path)) from exc
    if path.suffix.lower() == ".toml":
        try:
            return tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SupplyInputError([f"not valid TOML: {exc}"], str(path)) from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        at = f" (line {line})" if line else ""
        raise SupplyInputError([f"not valid JSON{at}: {exc}"], str(path)) from exc
    if not isinstance(data, dict):
        raise SupplyInputError(["expected a JSON object at the top level"], str(path))
    return data


def load_twin(path: str | Path) -> Twin:
    p = Path(path)
    return parse_twin(load_data(p), str(p))
