"""The default OPD list (``knowledge/opd.yaml``): schema, loading, checking, syncing."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlalchemy import select

from bot.accounts.models import Opd
from bot.callbacks import id_length_problem
from bot.config import check_timezone
from bot.db import Database

OPD_FILE = "opd.yaml"
EXAMPLES_DIR = "opd-examples"  # other regencies' lists, checked by `opdbot kb check` too
# Slugs travel in callback_data: bot.callbacks limits their length (kb check says so).
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
KINDS = (
    "setda",
    "sekretariat",
    "inspektorat",
    "bagian",
    "dinas",
    "badan",
    "satuan",
    "rsud",
    "kecamatan",
    "kelurahan",
    "desa",
    "puskesmas",
    "sekolah",
    "uptd",
    "lainnya",
)


class OpdItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str
    name: str
    kind: str | None = None
    timezone: str | None = None
    aliases: list[str] = []
    parent: str | None = None  # slug of the OPD a unit (UPTD, puskesmas, sekolah) belongs to

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str | None) -> str | None:
        if v is not None and v not in KINDS:
            raise ValueError(f"kind '{v}' tidak dikenal (pilihan: {', '.join(KINDS)})")
        return v

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: list[str]) -> list[str]:
        out = [" ".join(a.split()) for a in v]
        if any(not a or len(a) > 100 for a in out):
            raise ValueError("alias harus diisi, maksimal 100 karakter")
        return out

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError(f"slug '{v}' harus huruf kecil, angka dan tanda hubung")
        problem = id_length_problem("opd", v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v or len(v) > 200:
            raise ValueError("nama OPD wajib diisi (maksimal 200 karakter)")
        return v


class OpdList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str
    # The deployment's region in the content calendar's regions table (calendar.yaml), e.g.
    # "tabanan": its regional days (and those of the regions containing it) are reminded.
    region_id: str | None = None
    timezone: str = "Asia/Jakarta"
    opds: list[OpdItem]

    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))

    @field_validator("region_id")
    @classmethod
    def _region_id(cls, v: str | None) -> str | None:
        if v is not None and not SLUG_RE.match(v):
            raise ValueError(f"region_id '{v}' harus id wilayah huruf kecil (contoh: tabanan)")
        return v

    @model_validator(mode="after")
    def _unique(self) -> OpdList:
        seen: set[str] = set()
        for o in self.opds:
            if o.slug in seen:
                raise ValueError(f"slug ganda: {o.slug}")
            seen.add(o.slug)
        if not self.opds:
            raise ValueError("daftar OPD kosong")
        names: dict[str, str] = {}
        for o in self.opds:
            for n in [o.name, *o.aliases]:
                key = " ".join(n.casefold().split())
                if key in names and names[key] != o.slug:
                    raise ValueError(f"nama/alias '{n}' dipakai {names[key]} dan {o.slug}")
                names[key] = o.slug
            if o.parent is not None and (o.parent not in seen or o.parent == o.slug):
                raise ValueError(f"{o.slug}: parent '{o.parent}' tidak ada di daftar")
        return self


class OpdFileError(Exception):
    pass


def load_opds(knowledge_dir: Path, name: str = OPD_FILE) -> OpdList:
    path = Path(knowledge_dir) / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return OpdList.model_validate(data)
    except FileNotFoundError:
        raise OpdFileError(f"{path}: berkas tidak ada") from None
    except yaml.YAMLError as exc:
        raise OpdFileError(f"{path}: YAML tidak valid: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise OpdFileError(f"{path}: {where}: {msg}" if where else f"{path}: {msg}") from None


def load_opd_file(path: Path) -> OpdList:
    return load_opds(path.parent, path.name)


def check_opds(knowledge_dir: Path) -> list[tuple[str, str]]:
    """Problems of the deployment's list and of every example list in ``opd-examples/``."""
    out: list[tuple[str, str]] = []
    paths = [
        Path(knowledge_dir) / OPD_FILE,
        *sorted((Path(knowledge_dir) / EXAMPLES_DIR).glob("*.yaml")),
    ]
    for path in paths:
        try:
            load_opd_file(path)
        except OpdFileError as exc:
            file, _, problem = str(exc).partition(": ")
            out.append((file, problem))
    return out


async def sync_opds(db: Database, opds: OpdList) -> int:
    """Insert new OPDs and update names of known ones (by slug). Returns how many exist."""
    async with db.session() as s:
        existing = {o.slug: o for o in (await s.scalars(select(Opd))).all()}
        for item in opds.opds:
            tz = item.timezone or opds.timezone
            row = existing.get(item.slug)
            if row is None:
                row = Opd(slug=item.slug, name=item.name, kind=item.kind, timezone=tz)
                s.add(row)
                existing[item.slug] = row
            else:
                row.name, row.kind, row.timezone = item.name, item.kind, tz
            row.aliases = list(item.aliases) or None
        await s.flush()
        for item in opds.opds:
            parent = existing.get(item.parent) if item.parent else None
            existing[item.slug].parent_id = parent.id if parent else None
        return len(set(existing) | {o.slug for o in opds.opds})
