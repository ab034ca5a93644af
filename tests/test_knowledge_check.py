"""``check_knowledge`` / ``load_knowledge``: every kind of problem, on small temp folders."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from bot.knowledge.entry import KnowledgeError, Problem
from bot.knowledge.loader import check_knowledge, load_knowledge, parse_entry
from tests.kb_helpers import entry_text, small_kb, write_entry


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    return small_kb(tmp_path / "knowledge")


@pytest.fixture(autouse=True)
def no_content_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep these tests about the entries: the other content files are checked elsewhere."""
    fake = types.ModuleType("bot.schedules.content")
    fake.check_content = lambda knowledge_dir, entry_ids: []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.schedules.content", fake)


def problems_for(root: Path, name: str) -> list[str]:
    return [p.problem for p in check_knowledge(root) if p.file.endswith(name)]


def test_good_folder_has_no_problems_and_loads(kb_dir: Path) -> None:
    (kb_dir / "README.md").write_text("# cara menulis entri\n", encoding="utf-8")
    (kb_dir / "keamanan" / "README.md").write_text("catatan pilar\n", encoding="utf-8")
    (kb_dir / "surveys").mkdir()
    (kb_dir / "surveys" / "catatan.md").write_text("bukan entri\n", encoding="utf-8")
    assert check_knowledge(kb_dir) == []
    kb = load_knowledge(kb_dir)
    assert len(kb.entries) == 7
    assert [e.pillar for e in kb.entries][:2] == ["desain", "desain"]  # pillar order
    assert kb.get("keamanan-2fa") is not None
    assert [e.id for e in kb.related("keamanan-2fa")] == ["keamanan-kata-sandi"]
    assert {e.id for e in kb.by_pillar("keamanan")} == {
        "keamanan-2fa",
        "keamanan-kata-sandi",
        "keamanan-akun-diretas",
    }
    assert kb.pillars() == ["desain", "keamanan", "konten", "bantuan"]


def test_problem_prints_as_file_colon_problem() -> None:
    assert str(Problem("knowledge/a/b.md", "rusak")) == "knowledge/a/b.md: rusak"


def test_yaml_and_front_matter_errors(kb_dir: Path) -> None:
    (kb_dir / "etika").mkdir()
    (kb_dir / "etika" / "etika-a.md").write_text("tanpa front matter\n", encoding="utf-8")
    (kb_dir / "etika" / "etika-b.md").write_text(
        "---\nid: etika-b\ntitle: [tidak ditutup\n---\nisi\n", encoding="utf-8"
    )
    (kb_dir / "etika" / "etika-c.md").write_text("---\nid: etika-c\nisi\n", encoding="utf-8")
    write_entry(kb_dir, "etika-d", "etika", "Judul", updated_typo="x")
    (kb_dir / "etika" / "etika-e.md").write_text(
        "---\nid: etika-e\npillar: etika\nupdated: kemarin\n---\nisi\n", encoding="utf-8"
    )
    assert any("front matter" in p for p in problems_for(kb_dir, "etika-a.md"))
    assert any("YAML front matter tidak valid" in p for p in problems_for(kb_dir, "etika-b.md"))
    assert any("tidak ditutup" in p for p in problems_for(kb_dir, "etika-c.md"))
    assert any("'updated_typo' tidak dikenal" in p for p in problems_for(kb_dir, "etika-d.md"))
    e = problems_for(kb_dir, "etika-e.md")
    assert "kolom 'title' wajib ada" in e
    assert any("'updated' harus tanggal" in p for p in e)
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(kb_dir)
    assert any(p.file.endswith("etika-a.md") for p in err.value.problems)


def test_id_must_equal_file_name(kb_dir: Path) -> None:
    path = kb_dir / "konten" / "konten-lain.md"
    path.write_text(entry_text("konten-tagar", "konten", "Tagar"), encoding="utf-8")
    (msg,) = problems_for(kb_dir, "konten-lain.md")
    assert "id 'konten-tagar' tidak sama dengan nama berkas 'konten-lain'" in msg


def test_duplicate_id(kb_dir: Path) -> None:
    sub = kb_dir / "keamanan" / "lama"
    sub.mkdir()
    (sub / "keamanan-2fa.md").write_text(
        entry_text("keamanan-2fa", "keamanan", "Salinan lama"), encoding="utf-8"
    )
    msgs = problems_for(kb_dir, "lama/keamanan-2fa.md")
    assert any("sudah dipakai oleh" in m for m in msgs)
    assert any("subfolder" in m for m in msgs)


def test_folder_must_match_pillar_and_pillar_must_exist(kb_dir: Path) -> None:
    (kb_dir / "etika").mkdir()
    (kb_dir / "etika" / "etika-x.md").write_text(
        entry_text("etika-x", "konten", "Salah folder"), encoding="utf-8"
    )
    (kb_dir / "etika" / "etika-y.md").write_text(
        entry_text("etika-y", "hukum", "Pilar asing"), encoding="utf-8"
    )
    (kb_dir / "hukum").mkdir()
    (kb_dir / "hukum" / "hukum-z.md").write_text(
        entry_text("hukum-z", "etika", "Folder asing"), encoding="utf-8"
    )
    assert any(
        "pilar 'konten' tidak sama dengan foldernya 'etika'" in p
        for p in problems_for(kb_dir, "etika-x.md")
    )
    assert any("pilar 'hukum' tidak dikenal" in p for p in problems_for(kb_dir, "etika-y.md"))
    assert any("folder pilarnya" in p for p in problems_for(kb_dir, "hukum-z.md"))


def test_related_id_must_exist(kb_dir: Path) -> None:
    write_entry(kb_dir, "konten-tagar", "konten", "Tagar", related=["konten-tidak-ada"])
    write_entry(kb_dir, "konten-judul", "konten", "Judul", related=["konten-judul"])
    assert "related: id 'konten-tidak-ada' tidak ada" in problems_for(kb_dir, "konten-tagar.md")
    assert "related berisi id entri itu sendiri" in problems_for(kb_dir, "konten-judul.md")


def test_body_empty_and_too_long(kb_dir: Path) -> None:
    write_entry(kb_dir, "konten-kosong", "konten", "Kosong", body="\n   \n")
    write_entry(kb_dir, "konten-panjang", "konten", "Panjang", body="kata " * 900)
    assert any("isi (body) kosong" in p for p in problems_for(kb_dir, "konten-kosong.md"))
    (msg,) = problems_for(kb_dir, "konten-panjang.md")
    assert "terlalu panjang setelah dirender" in msg and "maksimal 3896" in msg
    # markup does not count: 3800 visible characters of bold text still fit
    write_entry(kb_dir, "konten-tebal", "konten", "Tebal", body="**" + "a" * 3800 + "**")
    assert problems_for(kb_dir, "konten-tebal.md") == []


def test_html_telegram_would_reject(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.knowledge.loader as loader

    # the renderer escapes everything, so simulate a renderer bug producing broken HTML
    monkeypatch.setattr(loader, "render_markdown", lambda body: "<b>tidak ditutup")
    entry, problems = parse_entry(entry_text("konten-x", "konten", "X"), "konten-x.md")
    assert entry is None
    assert "HTML hasil render ditolak Telegram" in problems[0].problem


def test_duplicate_alternate_question_across_entries(kb_dir: Path) -> None:
    write_entry(
        kb_dir,
        "konten-tagar",
        "konten",
        "Tagar",
        # same as a question of keamanan-2fa after normalisation (slang, case, punctuation)
        questions=[
            *["tagar " + w for w in ["satu", "dua", "tiga", "empat", "lima"]],
            "Bagaimana cara PASANG 2FA di IG???",
        ],
    )
    (msg,) = problems_for(kb_dir, "konten-tagar.md")
    assert "sama (setelah dinormalkan)" in msg and "keamanan-2fa" in msg
    # a warning, not an error: the folder still loads
    assert len(load_knowledge(kb_dir).entries) == 8


def test_fewer_than_six_questions_is_reported_but_loads(kb_dir: Path) -> None:
    write_entry(kb_dir, "konten-tagar", "konten", "Tagar", questions=["tagar apa yang cocok"])
    (msg,) = problems_for(kb_dir, "konten-tagar.md")
    assert "baru 1 pertanyaan alternatif, minimal 6" in msg
    assert load_knowledge(kb_dir).get("konten-tagar") is not None


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    (p,) = check_knowledge(tmp_path / "tidak-ada")
    assert "tidak ditemukan" in p.problem
    (tmp_path / "kosong").mkdir()
    empty, lexicon = check_knowledge(tmp_path / "kosong")
    assert "belum ada satu pun entri" in empty.problem
    assert lexicon.file.endswith("lexicon.yaml") and "tidak akan dikenali" in lexicon.problem
    with pytest.raises(KnowledgeError):
        load_knowledge(tmp_path / "kosong")


def test_lexicon_problems_are_included(kb_dir: Path) -> None:
    (kb_dir / "lexicon.yaml").write_text("padanan:\n  satu: [xx]\n  dua: [xx]\n", encoding="utf-8")
    msgs = problems_for(kb_dir, "lexicon.yaml")
    assert any("dipetakan ke dua bentuk" in m for m in msgs)
    (kb_dir / "lexicon.yaml").write_text("padanan: [\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(kb_dir)
    assert err.value.problems[0].file.endswith("lexicon.yaml")


def test_problems_of_other_content_files_are_included(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def check_content(knowledge_dir: Path, entry_ids: set[str]) -> list[tuple[str, str]]:
        seen["dir"], seen["ids"] = knowledge_dir, entry_ids
        return [(str(Path(knowledge_dir) / "tips.yaml"), "tip 'x': entry 'y' tidak dikenal")]

    fake = types.ModuleType("bot.schedules.content")
    fake.check_content = check_content  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.schedules.content", fake)
    problems = check_knowledge(kb_dir)
    expected = f"{kb_dir / 'tips.yaml'}: tip 'x': entry 'y' tidak dikenal"
    assert [str(p) for p in problems] == [expected]
    assert seen["dir"] == kb_dir and "keamanan-2fa" in seen["ids"]  # type: ignore[operator]
