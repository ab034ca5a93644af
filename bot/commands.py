"""The bot's command menu (registered with setMyCommands), in Indonesian and English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    id: str  # Indonesian description
    en: str  # English description
    audience: str = "all"  # all | organizer | admin


COMMANDS: list[Command] = [
    Command("start", "Mulai dan daftar", "Start and register"),
    Command("materi", "Jelajahi materi pelatihan", "Browse the training material"),
    Command("tanya", "Ajukan pertanyaan (di grup)", "Ask a question (in groups)"),
    Command("pengingat", "Pengingat jadwal unggah", "Posting reminders"),
    Command("kalender", "Hari penting 30 hari ke depan", "Content calendar, next 30 days"),
    Command("umpanbalik", "Isi umpan balik pelatihan (KODE)", "Training feedback (CODE)"),
    Command("langganan", "Atur tips dan pengingat kalender", "Tips and calendar reminders"),
    Command("darurat", "Akun dinas diretas? Lapor di sini", "Agency account hacked? Report it"),
    Command("profil", "Lihat dan ubah profil", "View and change your profile"),
    Command("privasi", "Pemberitahuan privasi", "Privacy notice"),
    Command("hapusdata", "Hapus data pribadi saya", "Delete my personal data"),
    Command("bantuan", "Daftar perintah", "List of commands"),
    Command("sesi", "Kelola sesi umpan balik", "Manage feedback sessions", "organizer"),
    Command("laporan", "Laporan umpan balik", "Feedback report", "organizer"),
    Command("siaran", "Kirim siaran ke OPD", "Broadcast to agencies", "admin"),
    Command("celah", "Pertanyaan belum terjawab", "Unanswered questions", "admin"),
    Command("kandidat", "Kandidat frasa pertanyaan", "Candidate phrasings", "admin"),
    Command("muatulang", "Muat ulang basis pengetahuan", "Reload the knowledge base", "admin"),
    Command("konfirmasi", "Siapa yang sudah konfirmasi siaran", "Broadcast confirmations", "admin"),
    Command("tiket", "Tiket helpdesk yang terbuka", "Open helpdesk tickets", "admin"),
    Command("jawab", "Jawab tiket: /jawab NOMOR teks", "Answer a ticket: /jawab N text", "admin"),
    Command("tutup", "Tutup tiket: /tutup NOMOR", "Close a ticket: /tutup N", "admin"),
]


def menu(audience: str, language: str = "id") -> list[tuple[str, str]]:
    """(command, description) pairs for an audience: staff see 'all', admins see everything."""
    allowed = {"all"} | ({"organizer", "admin"} if audience == "admin" else set())
    if audience == "organizer":
        allowed.add("organizer")
    return [(c.name, c.en if language == "en" else c.id) for c in COMMANDS if c.audience in allowed]
