"""The Indonesian words of dates and times: months, weekdays, parts of the day, zones."""

from __future__ import annotations

MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "pebruari": 2, "feb": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "agus": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}  # fmt: skip
DAYS = {
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "sabtu": 5, "minggu": 6,
    "ahad": 6,
}  # fmt: skip
# Indonesian zone words and their IANA names.
ZONES = {"wib": "Asia/Jakarta", "wita": "Asia/Makassar", "wit": "Asia/Jayapura"}
ZONE_LABELS = {v: k.upper() for k, v in ZONES.items()}
PERIODS = ("pagi", "siang", "sore", "petang", "malam")
NUMBER_WORDS = {
    "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
    "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11, "dua belas": 12,
}  # fmt: skip
REPEAT = {"setiap", "tiap", "tiap-tiap", "per", "saban"}
# Words that carry no meaning of their own in a date or a time.
FILLER = {
    "setiap", "tiap", "tiap-tiap", "per", "saban", "pada", "di", "hari", "dan", "serta",
    "juga", "jam", "pukul", "pkl", "tanggal", "tgl", "bulan", "tahun", "ingatkan", "ingetin",
    "tolong", "saya", "aku", "ya", "yang", "sekali", "mulai", "nanti", "sekitar", "kira-kira",
    "tepat", "lagi", "deh", "dong", "aja", "saja", "sampai", "sebelum",
}  # fmt: skip


def zone_label(tz: str) -> str:
    """WIB / WITA / WIT for Indonesian zones, else the IANA name."""
    return ZONE_LABELS.get(tz, tz)


def apply_period(hour: int, period: str | None) -> int | None:
    """'jam 5 sore' = 17, 'jam 7 malam' = 19, 'jam 12 siang' = 12, 'jam 12 malam' = 0."""
    if hour > 23:
        return None
    if period is None:
        return hour
    if hour > 12:  # "jam 17 sore": already a 24-hour clock
        return hour if period in ("siang", "sore", "petang", "malam") else None
    if period == "pagi":
        return 0 if hour == 12 else hour
    if period == "siang":
        return hour + 12 if 1 <= hour <= 5 else hour
    if period in ("sore", "petang"):
        return hour + 12 if 1 <= hour <= 11 else hour
    # malam
    if hour == 12:
        return 0
    return hour + 12 if 5 <= hour <= 11 else hour
