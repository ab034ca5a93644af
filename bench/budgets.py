"""Budgets with the inbox in the path (issue 13 point 7): one ``opdbot run`` process in
webhook mode against the fake Bot API (in this process), on PostgreSQL.

    BENCH_DATABASE_URL=postgresql+asyncpg://... .venv/bin/python bench/budgets.py

(without BENCH_DATABASE_URL a temporary SQLite file is used and the figures say so).

- ``reply``: updates arrive at ``--rate`` per second (50) for ``--seconds`` (10), delivered by
  the fake's webhook; latency = the fake queuing the update -> the fake receiving the bot's
  answer. Loads: half ``/bantuan`` from distinct users and half group chatter (the answers stay
  under Telegram's ~30 messages/s); all ``/bantuan`` (50 answers/s: the token's rate budget
  must queue them); half real questions from ``bench/real_questions.tsv`` (knowledge search
  included) and half chatter. Target: p99 under 300 ms.
- ``intake``: 2,000 group messages nobody needs to answer, POSTed straight to the webhook by
  32 concurrent connections (as Telegram's up to 40 do); acknowledged updates per second
  (every 200 means the update's insert committed). Target: at least 200/s.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SECRET = "bench-secret"


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


async def _database(tmp: Path) -> tuple[str, str]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.db import upgrade_async
    from bot.db.base import Base

    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        url = f"sqlite+aiosqlite:///{tmp / 'budgets.sqlite3'}"
        await upgrade_async(url)
        return url, "SQLite (set BENCH_DATABASE_URL for PostgreSQL)"
    await upgrade_async(url)
    engine = create_async_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    return url, "PostgreSQL"


def _questions(n: int) -> list[str]:
    with open(REPO / "bench" / "real_questions.tsv", encoding="utf-8") as f:
        rows = [r["question"] for r in csv.DictReader(f, delimiter="\t") if r.get("question")]
    return [rows[i % len(rows)] for i in range(n)]


async def _reply_load(
    fake, texts: list[str], rate: float, first_user: int, chatter: int = 0
) -> dict:
    """``texts`` sent at ``rate`` per second, each followed by ``chatter`` group messages that
    need no answer (so the total is ``rate * (1 + chatter)`` updates per second)."""
    users = list(range(first_user, first_user + len(texts)))
    for u in users:
        fake.user(u, f"U{u}")
    if chatter:
        fake.add_chat(-100321, "supergroup", "Grup OPD")
        fake.user(99_001, "Anggota")
    mark = fake.mark()
    sent_at: dict[int, float] = {}
    start = time.monotonic()
    for i, (u, t) in enumerate(zip(users, texts, strict=True)):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[u] = time.monotonic()
        fake.send_message(u, t)
        for _ in range(chatter):
            fake.send_message(99_001, "rapat jam berapa ya nanti?", chat_id=-100321)
    deadline = time.monotonic() + 60
    answered: dict[int, float] = {}
    while time.monotonic() < deadline and len(answered) < len(users):
        for c in fake.calls[mark:]:
            chat = c.params.get("chat_id")
            if c.method == "sendMessage" and c.ok and chat in sent_at and chat not in answered:
                answered[chat] = c.at
        await asyncio.sleep(0.05)
    lat = [(answered[u] - sent_at[u]) * 1000 for u in answered]
    return {
        "sent": len(users),
        "answered": len(answered),
        "p50_ms": round(_pct(lat, 50)),
        "p95_ms": round(_pct(lat, 95)),
        "p99_ms": round(_pct(lat, 99)),
        "max_ms": round(max(lat) if lat else float("nan")),
    }


def _chatter(update_id: int, user: int) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": -100123, "type": "supergroup", "title": "Grup"},
            "from": {"id": user, "is_bot": False, "first_name": "Anggota"},
            "text": "rapat jam berapa ya nanti?",
        },
    }


async def _intake(port: int, n: int = 2000, conns: int = 32) -> dict:
    import httpx

    url = f"http://127.0.0.1:{port}/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    ids = iter(range(10**9, 10**9 + n))
    codes: dict[int, int] = {}

    async def worker(client) -> None:
        for uid in ids:
            r = await client.post(url, json=_chatter(uid, 9000 + uid % 500), headers=headers)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1

    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(conns)))
        elapsed = time.monotonic() - start
    return {
        "posted": n,
        "acknowledged_200": codes.get(200, 0),
        "other": {k: v for k, v in codes.items() if k != 200},
        "per_second": round(codes.get(200, 0) / elapsed),
    }


async def main(rate: float, seconds: float) -> None:
    from bot.fakeapi import FakeTelegram
    from tests.crash_helpers import BotProcess, free_port

    tmp = Path(tempfile.mkdtemp(prefix="budgets_"))
    url, kind = await _database(tmp)
    fake = FakeTelegram()
    await fake.start()
    port = free_port()
    fake.route_webhook(f"http://127.0.0.1:{port}")
    bot = BotProcess(fake, url, tmp, port=port, name="budgets", env={"WEBHOOK_SECRET": SECRET})
    try:
        bot.start()
        await bot.ready()
        n = int(rate * seconds)
        print(f"database: {kind}; one process, webhook; {rate:.0f} updates/s for {seconds:.0f} s")
        warm = await _reply_load(fake, ["/bantuan"] * 10, 10, 1_000)
        print(f"warm-up: {warm}", flush=True)
        half = n // 2
        mixed = await _reply_load(fake, ["/bantuan"] * half, rate / 2, 30_000, chatter=1)
        print(
            f"reply at {rate:.0f} updates/s = {rate / 2:.0f}/s /bantuan + {rate / 2:.0f}/s group "
            f"chatter: {mixed} (target p99 < 300 ms)",
            flush=True,
        )
        cmd = await _reply_load(fake, ["/bantuan"] * n, rate, 10_000)
        print(
            f"reply at {rate:.0f}/s /bantuan, every one answered (above Telegram's ~30 "
            f"messages/s, so the token's rate budget queues them): {cmd}",
            flush=True,
        )
        qs = await _reply_load(fake, _questions(half), rate / 2, 20_000, chatter=1)
        print(
            f"reply at {rate:.0f} updates/s = {rate / 2:.0f}/s real questions + "
            f"{rate / 2:.0f}/s chatter: {qs}",
            flush=True,
        )
        intake = await _intake(port)
        print(f"webhook intake: {intake} (target >= 200/s)", flush=True)
    finally:
        await bot.stop()
        await fake.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    asyncio.run(main(args.rate, args.seconds))
