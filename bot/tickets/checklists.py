"""The emergency checklists for hacked agency accounts: ``knowledge/darurat/<platform>.yaml``.

One file per platform with its official recovery path and the steps, in order, that a staff
member works through in ``/darurat``. ``opdbot kb check`` validates them (see
:func:`check_content`)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

log = logging.getLogger(__name__)

FOLDER = "darurat"
# The platforms /darurat offers, in this order; each must have a file.
PLATFORMS = ("instagram", "facebook", "youtube", "tiktok", "x", "whatsapp")
MAX_STEPS = 12

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=600)]
Url = Annotated[str, StringConstraints(pattern=r"^https://\S+$", max_length=300)]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=120)]
    detail: Text
    url: Url | None = None


class Checklist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Annotated[str, StringConstraints(pattern=r"^[a-z]{1,12}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    recovery_url: Url
    updated: date
    sources: list[Url] = Field(min_length=1)
    steps: list[Step] = Field(min_length=3, max_length=MAX_STEPS)

    @field_validator("platform")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in PLATFORMS:
            raise ValueError(f"platform harus salah satu dari: {', '.join(PLATFORMS)}")
        return v


class ChecklistError(Exception):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {p}" for f, p in problems))
        self.problems = problems


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"]) or "berkas"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _parse(path: Path) -> tuple[Checklist | None, str | None]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return None, f"bukan YAML yang valid ({exc.__class__.__name__})"
    if not isinstance(data, dict):
        return None, "isi berkas harus berupa pemetaan (kunci: nilai)"
    try:
        item = Checklist.model_validate(data)
    except ValidationError as exc:
        return None, _explain(exc)
    if item.platform != path.stem:
        return None, f"platform '{item.platform}' harus sama dengan nama berkas '{path.stem}'"
    return item, None


def check_content(root: Path, entry_ids: set[str] | None = None) -> list[tuple[str, str]]:
    """Problems of the checklist folder as (file, problem)."""
    folder = Path(root) / FOLDER
    problems: list[tuple[str, str]] = []
    if not folder.is_dir():
        return []  # a deployment without checklists: /darurat says it is not available
    for name in PLATFORMS:
        path = folder / f"{name}.yaml"
        if not path.is_file():
            problems.append((str(path), f"daftar langkah darurat untuk {name} belum ada"))
            continue
        _, problem = _parse(path)
        if problem:
            problems.append((str(path), problem))
    for path in sorted(folder.glob("*.yaml")):
        if path.stem not in PLATFORMS:
            problems.append((str(path), f"platform '{path.stem}' tidak dikenal"))
    return problems


def load_checklists(root: Path) -> dict[str, Checklist]:
    """Every valid checklist, by platform, in the order /darurat offers them. A broken file is
    logged and left out (the others stay usable)."""
    folder = Path(root) / FOLDER
    out: dict[str, Checklist] = {}
    for name in PLATFORMS:
        path = folder / f"{name}.yaml"
        if not path.is_file():
            continue
        item, problem = _parse(path)
        if item is None:
            log.error("%s: %s", path, problem)
            continue
        out[name] = item
    return out
