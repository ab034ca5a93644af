"""Reading the curated YAML files of the knowledge folder (``tips.yaml``, ``calendar.yaml``).

A file must hold one top-level key with a non-empty list; a key written twice in one mapping is
refused; every item is validated with a pydantic model and every problem is reported as a
``(file, problem)`` pair in Indonesian, for the curators.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.yaml_id import explain

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

Problem = tuple[str, str]


class ContentError(Exception):
    """A content file is missing or broken; ``problems`` lists every ``(file, problem)``."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {p}" for f, p in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"kunci '{key}' ditulis dua kali",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, top_key: str) -> tuple[list[Any] | None, list[Problem]]:
    """The list under ``top_key``, or ``None`` and the problems that prevent reading it."""
    items, _, problems = _read_sections(path, top_key)
    return items, problems


def _read_sections(
    path: Path, top_key: str, optional: tuple[str, ...] = ()
) -> tuple[list[Any] | None, dict[str, Any], list[Problem]]:
    """The list under ``top_key``, the values of the ``optional`` top-level keys that are
    present, and the problems; the list is ``None`` when it cannot be read."""
    name = str(path)
    if not path.is_file():
        return None, {}, [(name, "berkas tidak ditemukan")]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [(name, f"tidak bisa dibaca: {exc}")]
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        return None, {}, [(name, _yaml_problem(exc))]
    if not isinstance(data, dict) or top_key not in data:
        return None, {}, [(name, f"isi berkas harus diawali '{top_key}:' berisi daftar")]
    problems: list[Problem] = []
    extra = sorted(str(k) for k in data if k != top_key and k not in optional)
    if extra:
        problems.append((name, f"kunci tingkat atas tidak dikenal: {', '.join(extra)}"))
    extras = {k: data[k] for k in optional if k in data}
    items = data[top_key]
    if not isinstance(items, list) or not items:
        problems.append((name, f"'{top_key}' harus berupa daftar yang tidak kosong"))
        return None, extras, problems
    return items, extras, problems


def _yaml_problem(exc: yaml.YAMLError) -> str:
    return explain(exc)


_ERROR_TEXT = {
    "missing": "kolom wajib belum diisi",
    "extra_forbidden": "kolom tidak dikenal",
    "string_type": "harus berupa teks",
    "int_type": "harus berupa bilangan bulat",
    "greater_than_equal": "terlalu kecil",
    "less_than_equal": "terlalu besar",
    "tuple_type": "harus berupa daftar",
    "list_type": "harus berupa daftar",
    "dict_type": "harus berupa pasangan tahun: tanggal",
}


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    etype = err.get("type", "")
    if etype == "value_error":
        msg = str(err.get("ctx", {}).get("error", err.get("msg", "")))
    elif etype in ("greater_than_equal", "less_than_equal"):
        ctx = err.get("ctx", {})
        limit = ctx.get("ge", ctx.get("le"))
        msg = f"{_ERROR_TEXT[etype]}: {err.get('input')!r} (batas {limit})"
    else:
        msg = _ERROR_TEXT.get(etype, err.get("msg", "tidak valid"))
    return f"{loc}: {msg}" if loc else msg


def _validate_items(
    path: Path, items: list[Any], model: type[BaseModel], noun: str
) -> tuple[list[Any], list[Problem]]:
    name = str(path)
    problems: list[Problem] = []
    valid: list[Any] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(items, start=1):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = f"{noun} '{raw_id}'" if isinstance(raw_id, str) and raw_id else f"{noun} ke-{index}"
        if not isinstance(raw, dict):
            problems.append((name, f"{label}: harus berupa mapping (id, ...)"))
            continue
        if isinstance(raw_id, str) and raw_id:
            if raw_id in seen:
                problems.append(
                    (name, f"id ganda '{raw_id}' (butir ke-{seen[raw_id]} dan ke-{index})")
                )
            else:
                seen[raw_id] = index
        try:
            valid.append(model.model_validate(raw))
        except ValidationError as exc:
            for err in exc.errors():
                problems.append((name, f"{label}: {_describe(err)}"))
    return valid, problems
