"""Ranking, confidence threshold and ambiguity of the knowledge search."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.knowledge.loader import load_knowledge
from bot.knowledge.search import (
    MARGIN_THRESHOLD,
    SCOPE_SCORE,
    SINGLE_MATCH_MARGIN_THRESHOLD,
    THRESHOLD,
    KnowledgeBase,
    accept,
)
from tests.kb_helpers import REAL_KNOWLEDGE, small_kb, write_entry

OUT_OF_SCOPE = [
    "cara perpanjang SIM",
    "harga cabai",
    "siapa presiden pertama amerika",
    "cara membuat sambal terasi",
    "kapan libur lebaran",
    "Kapan libur lebaran tahun depan?",
    "resep rendang padang",
    "siapa bupati sekarang",
    "cara bikin ktp elektronik",
]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return load_knowledge(small_kb(tmp_path_factory.mktemp("kb") / "knowledge"))


@pytest.fixture(scope="module")
def real() -> KnowledgeBase:
    return load_knowledge(REAL_KNOWLEDGE)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("GMNNN cara pasang 2FA di ig kak???", "keamanan-2fa"),
        ("verifikasi dua langkah facebook", "keamanan-2fa"),
        ("akun fb kantor dihack orang, tolongg", "keamanan-akun-diretas"),
        ("pasword yg kuat kyk apa", "keamanan-kata-sandi"),
        ("ukuran story ig brp px", "desain-ukuran-konten"),
        ("caption yg menarik gmn nulisnya", "konten-caption"),
        ("bot ini bisa ngapain aja", "bantuan-pakai-bot"),
        ("canva pro wajib gak", "desain-canva-memulai"),
    ],
)
def test_small_kb_answers_the_way_people_type(
    small: KnowledgeBase, question: str, expected: str
) -> None:
    r = small.search(question)
    assert r.answered, r
    assert r.hits[0].id == expected, r
    assert not r.ambiguous


def test_scores_are_normalised_and_sorted(small: KnowledgeBase) -> None:
    r = small.search("cara ganti password akun dinas", limit=5)
    assert 1 <= len(r.hits) <= 5
    scores = [h.score for h in r.hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert r.normalized == "ganti kata sandi akun instansi"
    assert len(small.search("2fa", limit=0).hits) == 1  # at least the best one


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_small_kb_refuses_out_of_scope(small: KnowledgeBase, question: str) -> None:
    r = small.search(question)
    assert not r.answered, r


def test_empty_and_filler_questions_are_not_answered(small: KnowledgeBase) -> None:
    for q in ("", "   ", "???", "halo min", "makasih kak", "gimana ya"):
        r = small.search(q)
        assert not r.answered and r.hits == [] and r.normalized == ""


def test_refusal_still_lists_the_closest_entries(small: KnowledgeBase) -> None:
    r = small.search("cara bikin konten video dokumentasi kegiatan")
    assert not r.answered
    assert r.hits and r.hits[0].score < THRESHOLD


def test_close_entries_are_ambiguous(tmp_path: Path) -> None:
    root = small_kb(tmp_path / "knowledge")
    write_entry(
        root,
        "konten-siaran-langsung",
        "konten",
        "Live Instagram: persiapan",
        questions=[
            "tips live supaya lancar",
            "persiapan live instagram",
            "live ig pakai hp",
            "live bareng narasumber",
            "live ig kok putus putus",
            "jadwal live yang pas",
        ],
        tags=["live", "siaran langsung"],
    )
    write_entry(
        root,
        "konten-siaran-rekaman",
        "konten",
        "Live Instagram: rekaman dan arsip",
        questions=[
            "rekaman live ig disimpan dimana",
            "cara simpan rekaman live",
            "live ig bisa diunduh gak",
            "rekaman live hilang",
            "rekaman live jadi reels",
            "live ig disimpan ke arsip",
        ],
        tags=["rekaman", "arsip live"],
    )
    kb = load_knowledge(root)
    r = kb.search("live ig")
    assert r.answered and r.ambiguous, r
    assert {h.id for h in r.hits[:2]} == {"konten-siaran-langsung", "konten-siaran-rekaman"}
    r = kb.search("rekaman live ig disimpan dimana ya")
    assert r.answered and not r.ambiguous and r.hits[0].id == "konten-siaran-rekaman"


def test_knowledge_base_lookups(small: KnowledgeBase) -> None:
    assert small.get("tidak-ada") is None
    assert small.related("tidak-ada") == []
    assert "keamanan-2fa" in small
    assert len(small) == len(small.entries) == 7
    assert small.normalize("Gmn cara upload ke IG?") == "unggah instagram"


def _sig(matched: int, strong: int, topic: int) -> dict[str, float]:
    return {"matched": matched, "strong": strong, "topic": topic}


def test_accept_margin_below_the_threshold() -> None:
    low = (THRESHOLD + MARGIN_THRESHOLD) / 2
    well_supported = _sig(matched=3, strong=2, topic=1)
    # a clear lead with several distinct supporting words is enough below THRESHOLD
    assert accept(low, low * 0.5, well_supported, n_terms=6, unknown=False)
    # ... not when the runner-up is close, nor below the margin floor
    assert not accept(low, low * 0.95, well_supported, n_terms=6, unknown=False)
    assert not accept(MARGIN_THRESHOLD - 0.01, 0.0, well_supported, n_terms=6, unknown=False)
    # ... nor when the support is generic words ("dinas", "akun") or no topic word
    generic = _sig(matched=3, strong=1, topic=1)
    assert not accept(low, low * 0.5, generic, n_terms=6, unknown=False)
    assert not accept(low, low * 0.5, _sig(matched=3, strong=3, topic=0), n_terms=6, unknown=False)
    # above THRESHOLD the margin does not matter
    assert accept(THRESHOLD + 0.1, THRESHOLD + 0.09, well_supported, n_terms=6, unknown=False)


def test_accept_single_word_needs_a_lead() -> None:
    single = _sig(matched=1, strong=1, topic=1)
    top = SINGLE_MATCH_MARGIN_THRESHOLD + 0.02
    assert accept(top, top * 0.4, single, n_terms=4, unknown=False)
    assert not accept(top, top * 0.9, single, n_terms=4, unknown=False)
    # an unknown word or a word seen only in passing is never enough
    assert not accept(top, top * 0.4, single, n_terms=4, unknown=True)
    assert not accept(0.9, 0.1, _sig(matched=1, strong=1, topic=0), n_terms=1, unknown=False)


# -- the real knowledge folder ---------------------------------------------------------------

REAL_QUESTIONS = [
    ("gmn cara pasang 2fa di ig kantor", "keamanan-2fa"),
    ("ig dinas kena hek, gmn balikinnya min", "keamanan-akun-diretas"),
    ("dapet dm katanya akun kita melanggar hak cipta disuruh klik link", "keamanan-phishing"),
    ("ukuran feed ig yg bener brp px", "desain-ukuran-konten"),
    ("foto jadi burik pas diupload ke ig", "desain-ekspor-kualitas"),
    ("asn boleh like postingan caleg gak", "etika-netralitas-asn"),
    ("ada hoax soal dinas kami, cara klarifikasinya gmn", "strategi-hoaks"),
    ("jam brp posting yg paling rame", "konten-waktu-unggah"),
    ("cara hitung engagement rate", "analitik-metrik-dasar"),
    ("bikin laporan bulanan medsos buat pimpinan", "analitik-laporan-kinerja"),
    ("cara nambahin alt text di foto ig", "desain-aksesibilitas"),
    ("pake lagu viral di reels dinas boleh ga", "etika-hak-cipta"),
    # long messages with a self-introduction and the story around the question
    (
        "selamat siang pak, saya staf humas di dinas pertanian kabupaten, kemarin kami upload "
        "foto penyaluran pupuk tapi ternyata ada nik petani kelihatan, harus gimana ya",
        "keamanan-data-pribadi",
    ),
    (
        "pak saya admin tiktok dinas pariwisata, video kami kemarin pakai lagu dangdut yg lagi "
        "viral terus suaranya dihapus sama tiktok, kenapa ya",
        "etika-hak-cipta",
    ),
    # synonyms and slang
    ("konten buat teman tuli perlu apa aja", "desain-aksesibilitas"),
    ("ada pesan berantai soal dinas kami, cara ngelurusinnya gmn", "strategi-hoaks"),
    ("biar konten kita dibantu share opd lain gmn", "strategi-kolaborasi-opd"),
]


@pytest.mark.parametrize(("question", "expected"), REAL_QUESTIONS)
def test_real_knowledge_realistic_questions(
    real: KnowledgeBase, question: str, expected: str
) -> None:
    if real.get(expected) is None:
        pytest.fail(f"entri {expected} belum ada di knowledge/")
    r = real.search(question)
    assert r.answered, r
    assert r.hits[0].id == expected, r


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_real_knowledge_refuses_out_of_scope(real: KnowledgeBase, question: str) -> None:
    r = real.search(question)
    assert not r.answered, r


# -- domain scope: one strong word shared with an entry is not enough --------------------------

#: office/admin/IT questions that share one strong word with an entry (wifi, bansos, file, ...)
OFF_DOMAIN = [
    "password wifi kantor berapa",
    "cara cek status bansos pake nik",
    "format laporan spj perjalanan dinas",
    "cara mengecilkan ukuran file pdf",
    "cara lapor spt tahunan",
    "rekap absensi pegawai bulan ini",
    "jadwal posyandu bulan ini kapan",
    "cara backup data hp ke laptop",
    "cara daftar cpns",
    "cara bayar pbb online",
    "nomor wa bupati berapa",
]

#: the same words inside questions about the agency's accounts and posts
IN_DOMAIN_WITH_OFFICE_WORDS = [
    ("wifi publik aman gak buat buka akun ig dinas", {"keamanan-perangkat"}),
    ("boleh gak posting foto ktp warga penerima bansos", {"keamanan-data-pribadi"}),
    ("nik warga kebaca di foto postingan gmn", {"keamanan-data-pribadi"}),
    (
        "hp dinas hilang akun ig masih login",
        {"keamanan-perangkat", "keamanan-kode-cadangan", "keamanan-sesi-login"},
    ),
    ("ukuran file video reels max brp", {"desain-ukuran-konten"}),
    ("laptop kantor perlu antivirus gak", {"keamanan-perangkat"}),
    ("pdf standar sama pdf cetak di canva bedanya apa", {"desain-ekspor-kualitas"}),
]


@pytest.mark.parametrize("question", OFF_DOMAIN)
def test_real_knowledge_refuses_office_questions(real: KnowledgeBase, question: str) -> None:
    r = real.search(question)
    assert not r.answered, r


@pytest.mark.parametrize(("question", "expected"), IN_DOMAIN_WITH_OFFICE_WORDS)
def test_office_words_in_social_media_questions_are_answered(
    real: KnowledgeBase, question: str, expected: set[str]
) -> None:
    r = real.search(question)
    assert r.answered, r
    assert r.hits[0].id in expected, r


def _with_scope(kb: KnowledgeBase, **changes: frozenset[str]) -> KnowledgeBase:
    lexicon = dataclasses.replace(kb.lexicon, **changes)
    return KnowledgeBase(kb.entries, lexicon)


def test_off_domain_words_are_what_refuses(real: KnowledgeBase) -> None:
    # without the curated off-domain words these score high enough to be answered
    plain = _with_scope(real, off_domain=frozenset())
    for question in ("password wifi kantor berapa", "cara cek status bansos pake nik"):
        assert plain.search(question).answered, question
        assert not real.search(question).answered, question
    # a domain anchor lifts the rule: "akun" puts the wifi question in scope
    assert real.search("password wifi kantor buat akun ig berapa").answered


def test_off_domain_question_with_a_strong_match_is_still_answered(real: KnowledgeBase) -> None:
    # no anchor left ("spanduk" removed), but several specific words of one entry match
    question = "file buat dikirim ke percetakan spanduk formatnya apa"
    kb = _with_scope(real, anchors=real.lexicon.anchors - {"spanduk"})
    assert not kb.normalizer.scope_forms(question) & kb.index.anchors
    r = kb.search(question)
    assert r.answered, r
    assert r.hits[0].id == "desain-ekspor-kualitas"
    assert r.hits[0].score >= SCOPE_SCORE
    # the same entry on two words only is refused
    assert not kb.search("cara mengecilkan ukuran file pdf").answered
