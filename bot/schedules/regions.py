"""Regions of the content calendar: which regional days belong to a deployment.

``calendar.yaml`` holds a ``regions:`` table (id -> name and parent), e.g. ``bali`` (Provinsi
Bali) > ``tabanan`` (Kabupaten Tabanan). An event with ``regions: [bali]`` belongs to every
region inside Bali. The deployment's own region is ``region_id`` in the OPD list
(``knowledge/opd.yaml``): another regency swaps that file and adds its own days to the table
and the events.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.schedules.yamlfile import SLUG_RE, Problem, _describe

REGION_NAME_MAX = 100


class Region(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    parent: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v or len(v) > REGION_NAME_MAX:
            raise ValueError(f"nama wilayah wajib diisi (maks {REGION_NAME_MAX} karakter)")
        return v


def parse_regions(path: Path, raw: Any) -> tuple[dict[str, Region], list[Problem]]:
    """The ``regions:`` table of ``calendar.yaml``; every problem as ``(file, problem)``."""
    name = str(path)
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [(name, "regions harus berupa pasangan id: {name: ..., parent: ...}")]
    problems: list[Problem] = []
    out: dict[str, Region] = {}
    for rid, value in raw.items():
        if not isinstance(rid, str) or not SLUG_RE.match(rid):
            problems.append((name, f"wilayah {rid!r}: id harus slug huruf kecil (contoh: tabanan)"))
            continue
        if not isinstance(value, dict):
            problems.append((name, f"wilayah '{rid}': harus berisi name (dan parent bila ada)"))
            continue
        try:
            out[rid] = Region.model_validate({"id": rid, **value})
        except ValidationError as exc:
            for err in exc.errors():
                problems.append((name, f"wilayah '{rid}': {_describe(err)}"))
    for region in out.values():
        if region.parent is not None and region.parent not in out:
            problems.append(
                (name, f"wilayah '{region.id}': parent '{region.parent}' tidak ada di regions")
            )
    for rid in out:
        if len(chain(out, rid)) > len(out):
            problems.append((name, f"wilayah '{rid}': parent berputar (melingkar)"))
    return out, problems


def chain(regions: dict[str, Region], region_id: str | None) -> tuple[str, ...]:
    """The region and every region containing it, innermost first (empty for ``None``)."""
    out: list[str] = []
    current = region_id
    while current is not None and current in regions and len(out) <= len(regions):
        out.append(current)
        current = regions[current].parent
    return tuple(out)


def applies(event_regions: Iterable[str] | None, region_chain: Iterable[str]) -> bool:
    """National events (no regions) apply everywhere; regional ones inside their regions."""
    if event_regions is None:
        return True
    return bool(set(event_regions) & set(region_chain))


def deployment_region(knowledge_dir: Path) -> str | None:
    """``region_id`` of the OPD list (``opd.yaml``), or None when absent or unreadable."""
    path = Path(knowledge_dir) / "opd.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    value = data.get("region_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None
