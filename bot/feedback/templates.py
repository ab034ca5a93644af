"""Questionnaire templates (``knowledge/surveys/<id>.yaml``): schema, loader, checker.

A template is expanded for one training session (its topics) into a *frozen questionnaire*: a
plain JSON-able dict stored in the session row, so editing the YAML later never changes a
session that already has answers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.callbacks import id_length_problem
from bot.yaml_id import explain

QuestionType = Literal["rating", "nps", "single", "multi", "text"]

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
CHOICE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")
MAX_QUESTIONS = 40
MAX_TOPICS = 12
TOPIC_MAX = 60  # a topic is also a button label
CHOICE_LABEL_MAX = 60
TEXT_LIMIT_MAX = 3000  # a free-text answer must fit one Telegram message with the review
OTHER_MAX = 200  # "Lainnya" typed answers of choice questions
SURVEYS_SUBDIR = "surveys"
DEFAULT_TEMPLATE = "default"

DEFAULT_RATING_LABELS = {
    1: "Sangat tidak setuju",
    2: "Tidak setuju",
    3: "Netral",
    4: "Setuju",
    5: "Sangat setuju",
}
DEFAULT_NPS_LABELS = {0: "Sangat tidak mungkin", 10: "Sangat mungkin"}


class TemplateError(Exception):
    """A template cannot be loaded or used; the message is readable Indonesian."""


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str = Field(min_length=1, max_length=CHOICE_LABEL_MAX)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not CHOICE_ID_RE.match(v):
            raise ValueError(f"id pilihan '{v}' tidak valid (huruf kecil, angka, _ atau -)")
        return v


class QuestionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    type: QuestionType
    text: str = Field(min_length=3, max_length=500)
    short: str | None = Field(default=None, max_length=60)
    required: bool = True
    per_topic: bool = False
    labels: dict[int, str] | None = None
    choices: list[Choice] | None = None
    choices_from_topics: bool = False
    allow_other: bool = False
    max_choices: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=1, le=TEXT_LIMIT_MAX)

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not KEY_RE.match(v):
            raise ValueError(
                f"key '{v}' tidak valid (huruf kecil/angka/_, diawali huruf, maks. 24 karakter)"
            )
        return v

    @model_validator(mode="after")
    def _by_type(self) -> QuestionSpec:
        t = self.type
        if self.per_topic:
            if t != "rating":
                raise ValueError(f"{self.key}: per_topic hanya untuk pertanyaan rating")
            if "{topic}" not in self.text:
                raise ValueError(f"{self.key}: teks pertanyaan per_topic harus memuat {{topic}}")
        elif "{topic}" in self.text:
            raise ValueError(f"{self.key}: {{topic}} hanya boleh dipakai bila per_topic: true")
        if self.labels is not None:
            if t == "rating" and set(self.labels) != {1, 2, 3, 4, 5}:
                raise ValueError(f"{self.key}: labels rating harus berisi 1 sampai 5")
            if t == "nps" and not set(self.labels) <= set(range(11)):
                raise ValueError(f"{self.key}: labels NPS hanya untuk nilai 0 sampai 10")
            if t not in ("rating", "nps"):
                raise ValueError(f"{self.key}: labels hanya untuk rating dan nps")
            for v in self.labels.values():
                if not v.strip() or len(v) > CHOICE_LABEL_MAX:
                    raise ValueError(f"{self.key}: label kosong atau terlalu panjang")
        if t in ("single", "multi"):
            if bool(self.choices) == self.choices_from_topics:
                raise ValueError(
                    f"{self.key}: isi salah satu dari choices atau choices_from_topics: true"
                )
            if self.choices:
                ids = [c.id for c in self.choices]
                if len(set(ids)) != len(ids):
                    raise ValueError(f"{self.key}: id pilihan ganda (duplikat)")
                if len(ids) < 2:
                    raise ValueError(f"{self.key}: minimal 2 pilihan")
                if len(ids) > 20:
                    raise ValueError(f"{self.key}: maksimal 20 pilihan")
        else:
            if self.choices or self.choices_from_topics or self.allow_other:
                raise ValueError(
                    f"{self.key}: choices/choices_from_topics/allow_other hanya untuk single/multi"
                )
        if self.max_choices is not None and t != "multi":
            raise ValueError(f"{self.key}: max_choices hanya untuk multi")
        if self.max_length is not None and t != "text":
            raise ValueError(f"{self.key}: max_length hanya untuk pertanyaan text")
        return self


class SurveyTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str = Field(min_length=3, max_length=120)
    description: str | None = Field(default=None, max_length=500)
    intro: str | None = Field(default=None, max_length=800)
    rating_labels: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_RATING_LABELS))
    nps_labels: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_NPS_LABELS))
    default_topics: list[str] = Field(default_factory=list)
    questions: list[QuestionSpec] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", v):
            raise ValueError(f"id '{v}' tidak valid (huruf kecil, angka, _ atau -)")
        problem = id_length_problem("questionnaire", v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("rating_labels")
    @classmethod
    def _rl(cls, v: dict[int, str]) -> dict[int, str]:
        if set(v) != {1, 2, 3, 4, 5}:
            raise ValueError("rating_labels harus berisi 1 sampai 5")
        return v

    @field_validator("nps_labels")
    @classmethod
    def _nl(cls, v: dict[int, str]) -> dict[int, str]:
        if not set(v) <= set(range(11)):
            raise ValueError("nps_labels hanya untuk nilai 0 sampai 10")
        return v

    @field_validator("default_topics")
    @classmethod
    def _topics(cls, v: list[str]) -> list[str]:
        return clean_topics(v)

    @model_validator(mode="after")
    def _keys(self) -> SurveyTemplate:
        keys = [q.key for q in self.questions]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"key pertanyaan ganda: {', '.join(dup)}")
        uses_topics = any(q.per_topic or q.choices_from_topics for q in self.questions)
        if uses_topics and not self.default_topics:
            raise ValueError("template memakai materi (topic) tetapi default_topics kosong")
        try:  # the expanded form must be valid too
            expand(self, self.default_topics or ["x"])
        except (TemplateError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return self


def split_topics(text: str) -> list[str]:
    """Topics as organizers type them: one per line or separated by ";", with or without
    list marks ("- Canva", "• Canva", "1. Canva", "2) Canva")."""
    parts = re.split(r"[;\n]", text)
    return [re.sub(r"^\s*(?:[-–•*]|\d{1,2}[.)])\s+", "", p).strip() for p in parts if p.strip()]


def clean_topics(topics: list[str]) -> list[str]:
    """Trim topics, drop empty and repeated ones; raise ValueError on bad input."""
    out: list[str] = []
    seen: set[str] = set()
    for t in topics:
        t = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", str(t)).split())
        if not t:
            continue
        if len(t) > TOPIC_MAX:
            raise ValueError(f"nama materi terlalu panjang (maks. {TOPIC_MAX} karakter): {t[:30]}…")
        if t.casefold() in seen:
            continue
        seen.add(t.casefold())
        out.append(t)
    if len(out) > MAX_TOPICS:
        raise ValueError(f"terlalu banyak materi (maks. {MAX_TOPICS})")
    return out


def expand(template: SurveyTemplate, topics: list[str]) -> dict[str, Any]:
    """The frozen questionnaire of one session: template questions with its topics filled in."""
    topics = clean_topics(topics)
    questions: list[dict[str, Any]] = []
    for spec in template.questions:
        base: dict[str, Any] = {
            "type": spec.type,
            "required": spec.required,
        }
        if spec.type == "rating":
            labels = spec.labels or template.rating_labels
            base["scale"] = [{"value": v, "label": labels[v]} for v in range(1, 6)]
        elif spec.type == "nps":
            labels = spec.labels or template.nps_labels
            base["scale"] = [{"value": v, "label": labels.get(v)} for v in range(11)]
        elif spec.type in ("single", "multi"):
            if spec.choices_from_topics:
                if not topics:
                    raise TemplateError(f"pertanyaan {spec.key} memerlukan daftar materi")
                base["choices"] = [{"id": f"t{i}", "label": t} for i, t in enumerate(topics, 1)]
            else:
                base["choices"] = [c.model_dump() for c in spec.choices or []]
            base["allow_other"] = spec.allow_other
            if spec.allow_other:
                base["other_max_length"] = OTHER_MAX
            if spec.type == "multi":
                base["max_choices"] = spec.max_choices
        elif spec.type == "text":
            base["max_length"] = spec.max_length or 1000
        if spec.per_topic:
            if not topics:
                raise TemplateError(f"pertanyaan {spec.key} memerlukan daftar materi")
            for i, topic in enumerate(topics, 1):
                q = dict(base)
                q.update(
                    key=f"{spec.key}_{i}",
                    text=spec.text.replace("{topic}", topic),
                    short=topic,
                    topic=topic,
                )
                questions.append(q)
        else:
            q = dict(base)
            q.update(key=spec.key, text=spec.text, short=spec.short or spec.key)
            questions.append(q)
    if len(questions) > MAX_QUESTIONS:
        raise TemplateError(f"terlalu banyak pertanyaan ({len(questions)}, maks. {MAX_QUESTIONS})")
    return {
        "template_id": template.id,
        "title": template.title,
        "intro": template.intro,
        "questions": questions,
    }


def _problem_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "tidak valid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def load_template_file(path: Path) -> SurveyTemplate:
    """Parse and validate one YAML file; raise TemplateError with a readable problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"tidak bisa dibaca: {exc}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(explain(exc)) from None
    if not isinstance(data, dict):
        raise TemplateError("isi berkas harus berupa pemetaan YAML (key: value)")
    try:
        tpl = SurveyTemplate.model_validate(data)
    except ValidationError as exc:
        raise TemplateError(_problem_text(exc)) from None
    if tpl.id != path.stem:
        raise TemplateError(f"id '{tpl.id}' harus sama dengan nama berkas '{path.stem}'")
    return tpl


def template_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_templates(directory: Path) -> dict[str, SurveyTemplate]:
    """Every valid template in the folder, by id (invalid files are skipped; see check)."""
    out: dict[str, SurveyTemplate] = {}
    for path in template_files(directory):
        try:
            tpl = load_template_file(path)
        except TemplateError:
            continue
        out[tpl.id] = tpl
    return out


def load_template(directory: Path, template_id: str) -> SurveyTemplate:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", template_id or ""):
        raise TemplateError(f"nama template '{template_id}' tidak valid")
    for suffix in (".yaml", ".yml"):
        path = directory / f"{template_id}{suffix}"
        if path.is_file():
            return load_template_file(path)
    raise TemplateError(f"template '{template_id}' tidak ditemukan di {directory}")


def surveys_dir(directory: Path | str) -> Path:
    """``knowledge/surveys`` given either the knowledge folder or the surveys folder itself."""
    directory = Path(directory)
    return directory if directory.name == SURVEYS_SUBDIR else directory / SURVEYS_SUBDIR


def check_surveys(directory: Path | str) -> list[tuple[str, str]]:
    """Validate every questionnaire in ``knowledge/surveys``.

    ``directory`` is the knowledge folder (as ``bot.schedules.content.check_content`` passes it) or the
    surveys folder itself. Returns ``(file, problem)`` pairs; empty when everything is fine. A
    missing ``default`` template is a problem: new sessions use it unless told otherwise.
    """  # noqa: E501
    directory = surveys_dir(directory)
    problems: list[tuple[str, str]] = []
    files = template_files(directory)
    if not directory.is_dir():
        return [(str(directory), "folder kuesioner tidak ditemukan")]
    ids: dict[str, Path] = {}
    for path in files:
        try:
            tpl = load_template_file(path)
        except TemplateError as exc:
            problems.append((str(path), str(exc)))
            continue
        if tpl.id in ids:
            problems.append((str(path), f"id '{tpl.id}' sudah dipakai oleh {ids[tpl.id].name}"))
        ids[tpl.id] = path
    if not any(p.stem == "default" for p in files):
        problems.append((str(directory / "default.yaml"), "template bawaan 'default' tidak ada"))
    return problems
