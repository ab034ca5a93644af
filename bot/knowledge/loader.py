"""Reading and checking the knowledge folder.

``knowledge/<pillar>/<id>.md``: YAML front matter between ``---`` lines, then a Markdown body.
``knowledge/lexicon.yaml`` holds the search lexicon. Other files (``README.md``, tips, calendar,
surveys, the OPD list) belong to other parts of the bot and are checked by them.

- :func:`load_knowledge` returns a :class:`KnowledgeBase` or raises :class:`KnowledgeError`
  listing every problem that would make the bot misbehave (nothing half-loaded);
- :func:`check_knowledge` returns every problem, including the warnings that do not block
  loading (too few alternate questions, duplicate questions, ...) and the problems the other
  content checkers report (``bot.schedules.content.check_content``), for ``opdbot kb check``.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.knowledge.entry import PILLARS, Entry, EntryMeta, KnowledgeError, Problem
from bot.knowledge.lexicon import LEXICON_FILE, Lexicon
from bot.knowledge.normalize import Normalizer
from bot.knowledge.render import BODY_LIMIT, MESSAGE_LIMIT, entry_message, render_markdown
from bot.knowledge.search import KnowledgeBase
from bot.knowledge.semantic import get_embedder
from bot.tghtml import validate_html, visible_length
from bot.yaml_id import explain

__all__ = [
    "KnowledgeBase",
    "KnowledgeError",
    "Problem",
    "check_knowledge",
    "load_knowledge",
    "parse_entry",
    "stale_entries",
]

MIN_QUESTIONS = 6
README = "README.md"
#: draft entries started from /celah (``opdbot kb learned --export``): not loaded, not checked
DRAFTS_DIR = "drafts"
#: ``opdbot kb check`` lists entries whose ``updated:`` is older than this, for a recheck
REVIEW_DAYS = 365

_FRONT_RE = re.compile(r"^---[ \t]*$", re.MULTILINE)
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Scan:
    entries: list[Entry] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    lexicon: Lexicon = field(default_factory=Lexicon.empty)
    normalizer: Normalizer | None = None


def _display(root: Path, path: Path) -> str:
    return str(root / path.relative_to(root))


def split_front_matter(text: str) -> tuple[str, str]:
    """``(yaml, body)``; ValueError with an Indonesian message when the layout is wrong."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.startswith("---"):
        raise ValueError("berkas harus diawali front matter YAML di antara dua baris '---'")
    first = _FRONT_RE.match(text)
    if first is None:
        raise ValueError("baris pertama harus tepat '---'")
    closing = _FRONT_RE.search(text, first.end())
    if closing is None:
        raise ValueError("front matter tidak ditutup dengan baris '---'")
    return text[first.end() : closing.start()], text[closing.end() :].strip("\n")


def _yaml_error(exc: yaml.YAMLError) -> str:
    # the opening '---' line precedes the YAML of the front matter
    text = explain(exc, line_offset=1)
    return text.replace("YAML tidak valid", "YAML front matter tidak valid", 1)


_FIELD_NAMES = "id, title, pillar, questions, tags, related, updated, order, sources"


def _pydantic_problems(exc: ValidationError) -> list[str]:
    out: list[str] = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ())) or "?"
        kind = err.get("type", "")
        if kind == "missing":
            out.append(f"kolom '{loc}' wajib ada")
        elif kind == "extra_forbidden":
            out.append(f"kolom '{loc}' tidak dikenal (kolom yang dipakai: {_FIELD_NAMES})")
        elif kind.startswith("date") or kind.startswith("datetime"):
            out.append(f"'{loc}' harus tanggal dengan bentuk TAHUN-BULAN-TANGGAL (2026-11-22)")
        elif kind in ("string_type", "str_type"):
            out.append(f"'{loc}' harus berupa teks")
        elif kind in ("list_type", "tuple_type"):
            out.append(f"'{loc}' harus berupa daftar")
        elif kind == "int_type" or kind == "int_parsing":
            out.append(f"'{loc}' harus berupa angka bulat")
        elif kind == "string_too_short":
            out.append(f"'{loc}' tidak boleh kosong")
        elif kind == "string_too_long":
            limit = (err.get("ctx") or {}).get("max_length", "?")
            out.append(f"'{loc}' terlalu panjang (maksimal {limit} karakter)")
        else:
            msg = str(err.get("msg", "tidak valid")).removeprefix("Value error, ")
            out.append(f"'{loc}': {msg}")
    return out


def parse_entry(text: str, file: str = "?") -> tuple[Entry | None, list[Problem]]:
    """One entry from the text of its file (no checks that need the file's location)."""
    try:
        raw_yaml, body = split_front_matter(text)
    except ValueError as exc:
        return None, [Problem(file, str(exc))]
    try:
        data: Any = yaml.load(raw_yaml, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        return None, [Problem(file, _yaml_error(exc))]
    if not isinstance(data, dict):
        return None, [Problem(file, "front matter harus berisi pasangan kolom: nilai")]
    pillar = data.get("pillar")
    if isinstance(pillar, str) and pillar.strip() not in PILLARS:
        choices = " | ".join(PILLARS)
        return None, [Problem(file, f"pilar '{pillar}' tidak dikenal (pilihan: {choices})")]
    try:
        meta = EntryMeta.model_validate(data)
    except ValidationError as exc:
        return None, [Problem(file, p) for p in _pydantic_problems(exc)]
    problems: list[Problem] = []
    if not body.strip():
        return None, [Problem(file, "isi (body) kosong: tulis materinya di bawah baris '---'")]
    html = render_markdown(body)
    message = entry_message(meta.title, html)
    err = validate_html(message)
    if err is not None:
        problems.append(Problem(file, f"HTML hasil render ditolak Telegram: {err}"))
    else:
        length = visible_length(message)
        if length > BODY_LIMIT:
            problems.append(
                Problem(
                    file,
                    f"isi terlalu panjang setelah dirender: {length} karakter, maksimal "
                    f"{BODY_LIMIT} (batas pesan Telegram {MESSAGE_LIMIT} dikurangi ruang "
                    f"untuk kepala/kaki pesan); ringkas atau pecah menjadi dua entri",
                )
            )
    entry = Entry(meta=meta, body=body, html=html, path=file)
    return (None if problems else entry), problems


@lru_cache(maxsize=4096)
def _parse_once(text: str, file: str) -> tuple[Entry | None, tuple[Problem, ...]]:
    entry, problems = parse_entry(text, file)
    return entry, tuple(problems)


def _parse_cached(text: str, file: str) -> tuple[Entry | None, list[Problem]]:
    """:func:`parse_entry`, remembered: a reload parses and renders only the changed files."""
    entry, problems = _parse_once(text, file)
    return entry, list(problems)


def _scan(root: Path) -> _Scan:
    scan = _Scan()
    if not root.is_dir():
        scan.errors.append(Problem(str(root), "folder basis pengetahuan tidak ditemukan"))
        return scan

    lexicon, lex_problems = Lexicon.load(root / LEXICON_FILE)
    lex_name = str(root / LEXICON_FILE)
    if not (root / LEXICON_FILE).exists():
        scan.warnings.append(
            Problem(
                lex_name,
                "berkas tidak ada: singkatan dan bahasa gaul (gmn, ig, pw, ...) tidak akan "
                "dikenali pencarian",
            )
        )
    for p in lex_problems:
        unusable = p.problem.startswith(("YAML", "isi berkas"))  # the whole file is lost
        target = scan.errors if unusable else scan.warnings
        target.append(Problem(lex_name, p.problem))
    scan.lexicon = lexicon

    files: list[tuple[Path, str | None]] = []  # (path, pillar folder or None when misplaced)
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name in PILLARS:
            files.extend(
                (path, child.name) for path in sorted(child.rglob("*.md")) if path.name != README
            )
        elif child.is_dir() and not child.name.startswith(".") and child.name != DRAFTS_DIR:
            for path in sorted(child.rglob("*.md")):
                if _looks_like_entry(path):
                    files.append((path, None))
        elif (
            child.is_file()
            and child.suffix == ".md"
            and child.name != README
            and _looks_like_entry(child)
        ):
            files.append((child, None))

    seen: dict[str, str] = {}
    for path, folder in files:
        name = _display(root, path)
        if folder is None:
            scan.errors.append(
                Problem(
                    name,
                    "entri harus berada langsung di folder pilarnya "
                    f"({', '.join(PILLARS)}), misalnya knowledge/keamanan/keamanan-2fa.md",
                )
            )
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            scan.errors.append(Problem(name, "berkas bukan teks UTF-8"))
            continue
        except OSError as exc:
            scan.errors.append(Problem(name, f"berkas tidak bisa dibaca: {exc.strerror or exc}"))
            continue
        entry, problems = _parse_cached(text, name)
        scan.errors.extend(problems)
        if entry is None:
            continue
        bad = False
        if path.parent.name != folder:
            scan.errors.append(
                Problem(name, f"entri harus langsung di folder '{folder}/', bukan di subfolder")
            )
            bad = True
        if entry.id != path.stem:
            scan.errors.append(
                Problem(
                    name,
                    f"id '{entry.id}' tidak sama dengan nama berkas '{path.stem}' "
                    f"(ganti nama berkas menjadi {entry.id}.md atau samakan id-nya)",
                )
            )
            bad = True
        if entry.pillar != folder:
            scan.errors.append(
                Problem(
                    name,
                    f"pilar '{entry.pillar}' tidak sama dengan foldernya '{folder}' "
                    f"(pindahkan ke knowledge/{entry.pillar}/ atau ubah kolom pillar)",
                )
            )
            bad = True
        if entry.id in seen:
            scan.errors.append(
                Problem(name, f"id '{entry.id}' sudah dipakai oleh {seen[entry.id]}")
            )
            bad = True
        else:
            seen[entry.id] = name
        if len(entry.questions) < MIN_QUESTIONS:
            scan.warnings.append(
                Problem(
                    name,
                    f"baru {len(entry.questions)} pertanyaan alternatif, minimal {MIN_QUESTIONS} "
                    "(tulis seperti cara staf mengetik: singkatan, slang, salah ketik)",
                )
            )
        if not bad:
            scan.entries.append(entry)

    ids = {e.id for e in scan.entries} | set(seen)
    normalizer = scan.normalizer = Normalizer(lexicon)
    owner: dict[tuple[str, ...], tuple[str, str]] = {}
    for e in scan.entries:
        for rid in e.related_ids:
            if rid == e.id:
                scan.errors.append(Problem(e.path, "related berisi id entri itu sendiri"))
            elif rid not in ids:
                scan.errors.append(Problem(e.path, f"related: id '{rid}' tidak ada"))
        if len(set(e.related_ids)) != len(e.related_ids):
            scan.warnings.append(Problem(e.path, "related berisi id yang sama lebih dari sekali"))
        for q in (e.title, *e.questions):
            key = tuple(sorted(normalizer.index_terms(q)))
            if not key:
                scan.warnings.append(
                    Problem(
                        e.path,
                        f"pertanyaan '{q}' hanya berisi kata umum/kata henti, tidak membantu "
                        "pencarian",
                    )
                )
                continue
            prev = owner.get(key)
            if prev is not None and prev[0] != e.id:
                scan.warnings.append(
                    Problem(
                        e.path,
                        f"pertanyaan '{q}' sama (setelah dinormalkan) dengan '{prev[1]}' di "
                        f"entri '{prev[0]}'; bedakan atau hapus salah satunya",
                    )
                )
            elif prev is None:
                owner[key] = (e.id, q)
    return scan


def _looks_like_entry(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            return fh.readline().strip() == "---"
    except OSError:
        return False


def _fingerprint(root: Path) -> str:
    """A hash of every file's path and content under ``root``."""
    h = hashlib.sha256()
    try:
        files = sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    except OSError:
        return ""
    return h.hexdigest()


#: knowledge bases are immutable: a folder whose files did not change is not parsed and indexed
#: again (every test, every ``Core`` of a process loads the same folder)
_MEMO: OrderedDict[tuple[str, str, int], KnowledgeBase] = OrderedDict()
_MEMO_SIZE = 4
_memo_lock = threading.Lock()


def load_knowledge(dir: Path | str) -> KnowledgeBase:
    """Load every entry under ``dir``; raise :class:`KnowledgeError` when a file is broken.

    Warnings (see :func:`check_knowledge`) do not stop loading.
    """
    root = Path(dir)
    fp = _fingerprint(root)
    key = (str(root.resolve()), fp, id(get_embedder()))
    with _memo_lock:
        kb = _MEMO.get(key) if fp else None
        if kb is not None:
            _MEMO.move_to_end(key)
            return kb
    scan = _scan(root)
    if scan.errors:
        raise KnowledgeError(sorted(set(scan.errors)))
    if not scan.entries:
        raise KnowledgeError([Problem(str(root), "belum ada satu pun entri pengetahuan")])
    kb = KnowledgeBase(scan.entries, scan.lexicon, scan.normalizer)
    if fp:
        with _memo_lock:
            _MEMO[key] = kb
            while len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
    return kb


def _content_problems(root: Path, entry_ids: set[str]) -> list[Problem]:
    """Problems reported by the checker of the other content files, if there is one."""
    items: list = []
    for name in ("bot.schedules.content", "bot.tickets.checklists"):
        try:
            content = importlib.import_module(name)
        except ImportError:
            continue
        check = getattr(content, "check_content", None)
        if check is None:
            continue
        try:
            items += list(check(root, entry_ids))
        except Exception as exc:  # a bug there must not hide the entries' own report
            items.append(Problem(str(root), f"pemeriksaan berkas konten lain gagal: {exc!r}"))
    out: list[Problem] = []
    for item in items:
        if isinstance(item, Problem):
            out.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            out.append(Problem(str(item[0]), str(item[1])))
        else:
            file = getattr(item, "file", "?")
            out.append(Problem(str(file), str(getattr(item, "problem", item))))
    return out


def check_knowledge(dir: Path | str) -> list[Problem]:
    """Every problem in the knowledge folder (errors and warnings), sorted by file."""
    root = Path(dir)
    scan = _scan(root)
    problems = scan.errors + scan.warnings
    if root.is_dir():
        if not scan.entries and not scan.errors:
            problems.append(Problem(str(root), "belum ada satu pun entri pengetahuan"))
        ids = {e.id for e in scan.entries}
        problems += _content_problems(root, ids)
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.file, p.problem))


def stale_entries(
    entries: Iterable[Entry], today: date, days: int = REVIEW_DAYS
) -> list[tuple[Entry, int]]:
    """Entries last ``updated`` more than ``days`` days before ``today`` (oldest first), with
    their age in days: their facts (menu paths, limits, laws) are due for a recheck."""
    old = [(e, (today - e.meta.updated).days) for e in entries]
    return sorted(
        ((e, age) for e, age in old if age > days), key=lambda x: (-x[1], x[0].path or x[0].id)
    )
