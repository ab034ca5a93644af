"""The Indonesian-aware normaliser and the typo repair of the knowledge search."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.lexicon import Lexicon
from bot.knowledge.normalize import Normalizer
from bot.knowledge.tokens import collapse_runs, fold, tokenize
from bot.knowledge.vocabulary import Vocabulary
from tests.kb_helpers import REAL_KNOWLEDGE


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    lex, problems = Lexicon.load(REAL_KNOWLEDGE / "lexicon.yaml")
    assert problems == []
    return lex


@pytest.fixture(scope="module")
def norm(lexicon: Lexicon) -> Normalizer:
    return Normalizer(lexicon)


def terms(norm: Normalizer, text: str) -> list[str]:
    return norm.index_terms(text)


def test_fold_removes_accents_case_and_apostrophes() -> None:
    assert fold("Café ÉLÈVE Jum'at") == "cafe eleve jumat"
    assert tokenize("Halo!!! Apa kabar??? (tes) — ok.") == ["halo", "apa", "kabar", "tes", "ok"]


def test_repeated_letters_are_collapsed() -> None:
    assert collapse_runs("gmnnn") == "gmn"
    assert collapse_runs("bangettt") == "banget"
    assert collapse_runs("maaaaf", keep=2) == "maaf"
    assert tokenize("tolonggg kakkkk") == ["tolong", "kak"]


def test_tokens_reduplication_numbers_and_hyphens() -> None:
    assert tokenize("akun-akun kata2 sehari-hari") == ["akun", "kata", "sehari"]
    assert tokenize("e-mail wi-fi 2FA 5W1H") == ["email", "wifi", "2fa", "5w1h"]
    assert tokenize("1080x1920px 30detik") == ["1080", "x", "1920", "px", "30", "detik"]


def test_slang_and_abbreviations_map_to_canonical_terms(norm: Normalizer) -> None:
    assert terms(norm, "gmn cara ganti pw ig") == ["ganti", "kata", "sandi", "instagram"]
    # question words, fillers and addressing words do not count
    assert terms(norm, "gimana ya min, gak bisa apa kak?") == []
    assert terms(norm, "upload ke fb") == terms(norm, "unggah ke facebook")
    assert terms(norm, "akun kena hack") == terms(norm, "akun diretas")
    assert terms(norm, "verifikasi 2 langkah") == terms(norm, "2fa") == ["2fa"]
    assert terms(norm, "wa channel dinas") == ["whatsapp", "channel", "instansi"]


def test_slang_affixes_reach_lexicon_words(norm: Normalizer) -> None:
    assert terms(norm, "diupload") == ["unggah"]
    assert terms(norm, "ngeshare") == ["bagi"]
    assert terms(norm, "kontennya") == ["konten"]
    assert terms(norm, "nulis") == terms(norm, "menulis") == ["tulis"]


def test_stemming_with_no_stem_domain_terms(norm: Normalizer) -> None:
    assert terms(norm, "mengaktifkan") == ["aktif"]
    assert terms(norm, "menanggapi keluhan") == ["tanggap", "keluh"]
    # "pengikut" would become "ikut" without the no-stem list
    assert terms(norm, "pengikut") == ["pengikut"]
    assert terms(norm, "followers") == ["pengikut"]
    assert terms(norm, "instagramnya") == ["instagram"]


def test_lexicon_problems_are_reported() -> None:
    data = {
        "padanan": {"tidak": ["gak", "ga"], "tiga": ["ga"], "kosong": [""], "larang": ["g boleh"]},
        "kata_henti": ["yang", "dua kata"],
        "lain": 1,
    }
    lex, problems = Lexicon.from_data(data, "lexicon.yaml")
    text = "\n".join(p.problem for p in problems)
    assert "'ga' dipetakan ke dua bentuk" in text
    assert "variasi kosong" in text
    assert "harus satu kata" in text
    assert "'g boleh' untuk 'larang' berisi huruf tunggal" in text
    assert "bagian 'lain' tidak dikenal" in text
    assert lex.phrases[("gak",)] == ("tidak",)
    assert "yang" in lex.stopwords


def test_broken_lexicon_yaml(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text("padanan: [tidak: gak\n", encoding="utf-8")
    lex, problems = Lexicon.load(path)
    assert len(problems) == 1 and problems[0].problem.startswith("YAML tidak valid")
    assert lex.phrases == {}
    assert Lexicon.load(tmp_path / "missing.yaml") == (Lexicon(), [])


# -- questions against a vocabulary: repeated letters, glued words, typos ---------------------


@pytest.fixture(scope="module")
def vocab(norm: Normalizer) -> Vocabulary:
    docs = [
        "Mengaktifkan verifikasi dua langkah di Instagram",
        "Kolaborasi antar OPD dan Diskominfo",
        "Menulis caption dan memakai tagar",
        "Mengukur jangkauan dan interaksi",
        "Memilih warna dan font, maaf atas kesalahan",
    ]
    surface: set[str] = set()
    df: dict[str, int] = {}
    for d in docs:
        surface.update(norm.tokens(d))
        for t in set(norm.index_terms(d)):
            df[t] = df.get(t, 0) + 1
    return Vocabulary(surface, df, norm.lexicon.words)


def qterms(norm: Normalizer, vocab: Vocabulary, text: str) -> list[str]:
    return [qt.term for qt in norm.query_terms(text, vocab)]


def test_typos_are_repaired_against_the_vocabulary(norm: Normalizer, vocab: Vocabulary) -> None:
    assert qterms(norm, vocab, "kolaborsi opd") == ["kolaborasi", "opd"]
    assert qterms(norm, vocab, "instagarm") == ["instagram"]
    assert qterms(norm, vocab, "verifkasi") == ["verifikasi"]
    # a typo inside a prefixed word
    assert qterms(norm, vocab, "berkolaborais") == ["kolaborasi"]
    # a typo of a question word is still a question word
    assert qterms(norm, vocab, "bagaimna caption") == ["caption"]
    repaired = norm.query_terms("kolaborsi", vocab)[0]
    assert repaired.weight < 1.0 and repaired.source == "kolaborsi"


def test_repair_is_not_too_eager(norm: Normalizer, vocab: Vocabulary) -> None:
    # real Indonesian words that the knowledge base lacks stay what they are
    assert qterms(norm, vocab, "cabai") == ["cabai"]
    assert qterms(norm, vocab, "sambal terasi") == ["sambal", "terasi"]
    # short words are never repaired
    assert qterms(norm, vocab, "fnt") == ["fnt"]
    # gibberish stays gibberish
    assert qterms(norm, vocab, "qwertyuiop") == ["qwertyuiop"]


def test_repeated_letters_and_glued_words_in_questions(norm: Normalizer, vocab: Vocabulary) -> None:
    assert qterms(norm, vocab, "gmnnn captionnn kakkk") == ["caption"]
    assert qterms(norm, vocab, "maaaaf") == ["maaf"]
    assert qterms(norm, vocab, "captiontagar") == ["caption", "tagar"]
    assert qterms(norm, vocab, "diupload ke igg") == ["unggah", "instagram"]


def test_synonyms_and_chat_openers_from_the_lexicon(norm: Normalizer) -> None:
    assert terms(norm, "warga yg udah sepuh") == ["warga", "lansia"]
    assert terms(norm, "konten buat teman tuli") == ["konten", "disabilitas", "tuli"]
    assert terms(norm, "postingan kita dibantu share diskominfo") == [
        "unggah",
        "amplifikasi",
        "diskominfo",
    ]
    assert terms(norm, "tagar ngaruh gak") == ["tagar", "pengaruh"]
    assert terms(norm, "ada pesan berantai di grup") == ["hoaks", "grup"]
    # polite openers and fillers are not part of the question ("izin" alone is: consent)
    assert terms(norm, "izin bertanya, akun bisa diretas sewaktu2") == ["akun", "retas"]
    assert terms(norm, "perlu izin ortu") == ["izin", "ortu"]


def test_self_introduction_in_a_long_message_weighs_less(
    norm: Normalizer, vocab: Vocabulary
) -> None:
    long = (
        "selamat pagi, saya admin instagram di dinas kesehatan, "
        "caption kolaborasi sama opd lain gimana nulisnya"
    )
    weights = {qt.term: qt.weight for qt in norm.query_terms(long, vocab)}
    assert weights["caption"] == weights["kolaborasi"] == 1.0
    assert weights["instagram"] < 1.0 and weights["admin"] < 1.0
    # a short message, or one without an introduction, keeps every word at full weight
    short = "saya admin instagram, caption kolaborasi gmn"
    assert all(qt.weight == 1.0 for qt in norm.query_terms(short, vocab))
    plain = (
        "kemarin kami upload infografis soal jangkauan, caption kolaborasi sama opd lain "
        "gimana nulisnya"
    )
    assert all(qt.weight == 1.0 for qt in norm.query_terms(plain, vocab))


def test_scope_word_lists_are_read_and_checked() -> None:
    data = {
        "padanan": {"unggah": ["posting", "postingan"]},
        "kata_ranah": ["unggah", "akun", "media sosial", "wifi"],
        "kata_luar_ranah": ["wifi", "pdf", "Absensi"],
    }
    lex, problems = Lexicon.from_data(data, "lexicon.yaml")
    text = "\n".join(p.problem for p in problems)
    assert "kata ranah 'media sosial' harus satu kata" in text
    assert "'wifi' ada di kata_ranah dan kata_luar_ranah sekaligus" in text
    assert lex.anchors == {"unggah", "akun", "wifi"}
    assert lex.off_domain == {"wifi", "pdf", "absensi"}


def test_scope_forms_meet_anchors_through_slang_and_stopwords(norm: Normalizer) -> None:
    anchors, off = norm.scope_words()
    # slang and affixes reach the anchor "unggah"; "medsos" is a stopword yet still an anchor
    assert "unggah" in norm.scope_forms("nik warga kebaca di postingan")
    assert norm.scope_forms("diposting ke sosmed") & anchors >= {"unggah", "medsos"}
    # off-domain words as typed and stemmed, never through the lexicon: "laptop" is off-domain,
    # "hp" (also "perangkat" in the lexicon) is not
    assert "laptop" in off and "perangkat" not in off
    assert norm.scope_forms("cara backup data hp ke laptop") & off == {"laptop"}
    assert not norm.scope_forms("hp dinas hilang") & off
    assert norm.scope_forms("pajaknya dibayar dimana") & off == {"pajak"}


def test_spt_is_the_tax_return_not_seperti(norm: Normalizer) -> None:
    assert terms(norm, "cara lapor spt tahunan") == ["lapor", "spt", "tahun"]
    assert "seperti" not in norm.scope_forms("spt tahunan")
