"""Small knowledge folders for the knowledge-engine tests."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
REAL_KNOWLEDGE = REPO / "knowledge"

SIX_QUESTIONS = [
    "pertanyaan contoh satu",
    "pertanyaan contoh dua",
    "pertanyaan contoh tiga",
    "pertanyaan contoh empat",
    "pertanyaan contoh lima",
    "pertanyaan contoh enam",
]


def entry_text(
    entry_id: str,
    pillar: str,
    title: str,
    questions: list[str] | None = None,
    body: str = "Isi materi singkat.\n\n- langkah satu\n- langkah dua\n",
    tags: list[str] | None = None,
    related: list[str] | None = None,
    **extra: object,
) -> str:
    meta = {
        "id": entry_id,
        "title": title,
        "pillar": pillar,
        "questions": questions if questions is not None else list(SIX_QUESTIONS),
        "tags": tags or [],
        "related": related or [],
        "updated": "2026-11-22",
        **extra,
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    # safe_dump quotes the date string; write it as a real YAML date
    front = front.replace("updated: '2026-11-22'", "updated: 2026-11-22")
    return f"---\n{front}---\n{body}"


def write_entry(root: Path, entry_id: str, pillar: str, title: str, **kw: object) -> Path:
    folder = root / pillar
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entry_id}.md"
    path.write_text(entry_text(entry_id, pillar, title, **kw), encoding="utf-8")  # type: ignore[arg-type]
    return path


def copy_lexicon(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "lexicon.yaml").write_text(
        (REAL_KNOWLEDGE / "lexicon.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )


def small_kb(root: Path) -> Path:
    """A seven-entry knowledge folder with the real lexicon."""
    copy_lexicon(root)
    write_entry(
        root,
        "keamanan-2fa",
        "keamanan",
        "Mengaktifkan verifikasi dua langkah (2FA)",
        questions=[
            "gimana cara pasang 2fa di instagram",
            "cara aktifin verifikasi 2 langkah ig kantor",
            "bagaimana mengaktifkan autentikasi dua faktor di facebook",
            "2fa tiktok dimana settingnya",
            "perlu gak akun dinas pakai 2fa",
            "aplikasi autentikator yg bagus apa",
        ],
        tags=["2fa", "otp", "authenticator"],
        related=["keamanan-kata-sandi"],
        body="Verifikasi dua langkah melindungi akun walau kata sandi bocor.\n\n"
        "1. Buka **Pengaturan**\n2. Pilih *Keamanan*\n",
    )
    write_entry(
        root,
        "keamanan-kata-sandi",
        "keamanan",
        "Kata sandi kuat dan pengelola kata sandi",
        questions=[
            "password yang kuat itu kayak gimana",
            "cara bikin kata sandi yang aman",
            "perlu ganti password berapa bulan sekali",
            "password manager aman gak",
            "boleh gak satu password buat semua akun",
            "cara nyimpen password akun dinas",
        ],
        tags=["kata sandi", "password manager", "sandi kuat"],
        related=["keamanan-2fa"],
        body="Pakai frasa sandi panjang, unik untuk tiap akun, simpan di pengelola kata sandi.",
    )
    write_entry(
        root,
        "keamanan-akun-diretas",
        "keamanan",
        "Akun resmi diretas: langkah pemulihan",
        questions=[
            "akun ig dinas kena hack gimana balikinnya",
            "fb kantor dibajak orang",
            "gak bisa login ig kata sandi diubah orang lain",
            "cara memulihkan akun yang diretas",
            "akun diambil alih hacker harus lapor ke mana",
            "ada postingan aneh dari akun kita sendiri",
        ],
        tags=["akun diretas", "pemulihan akun", "hack"],
        related=["keamanan-2fa"],
        body="Segera pulihkan lewat menu lupa kata sandi, lalu aktifkan 2FA.",
    )
    write_entry(
        root,
        "desain-canva-memulai",
        "desain",
        "Mulai memakai Canva untuk konten OPD",
        questions=[
            "gimana cara mulai pakai canva",
            "cara daftar akun canva pakai email kantor",
            "canva gratis cukup gak buat admin",
            "bedanya canva free sama canva pro",
            "saya admin baru belum pernah desain",
            "satu tim bisa edit desain canva bareng gak",
        ],
        tags=["canva", "canva pro", "mulai desain"],
        related=["desain-ukuran-konten"],
        body="Daftar dengan email instansi, lalu buat tim.",
    )
    write_entry(
        root,
        "desain-ukuran-konten",
        "desain",
        "Ukuran desain untuk tiap platform",
        questions=[
            "ukuran feed ig yang pas berapa",
            "berapa ukuran reels dan story instagram",
            "ukuran video tiktok berapa pixel",
            "sampul halaman fb ukuran berapa",
            "ukuran thumbnail youtube",
            "ukuran banner channel yt",
        ],
        tags=["ukuran", "resolusi", "rasio"],
        related=["desain-canva-memulai"],
        body="Feed 1080x1350 (4:5), Story dan Reels 1080x1920 (9:16).",
    )
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
            "caption kegiatan dinas isinya apa aja",
        ],
        tags=["caption", "menulis", "ajakan"],
        related=[],
        body="Kalimat pertama harus memikat; sebutkan apa manfaatnya bagi warga.",
    )
    write_entry(
        root,
        "bantuan-pakai-bot",
        "bantuan",
        "Cara memakai bot ini dan daftar perintahnya",
        questions=[
            "bot ini bisa apa",
            "perintahnya apa aja",
            "cara pakai bot",
            "menu bot",
            "daftar command bot",
            "cara ganti nama di bot",
        ],
        tags=["bantuan", "perintah", "menu"],
        related=[],
        body="Ketik pertanyaan apa saja, atau /materi untuk melihat semua materi.",
    )
    return root
