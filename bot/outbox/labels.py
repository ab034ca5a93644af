"""Button labels of the outbox features, from ``bot/templates/outbox_labels.yaml``."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    text = (
        resources.files("bot").joinpath("templates/outbox_labels.yaml").read_text(encoding="utf-8")
    )
    return {str(k): str(v) for k, v in (yaml.safe_load(text) or {}).items()}


def olabel(key: str) -> str:
    return _labels()[key]
