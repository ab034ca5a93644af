"""Chaos figures of issue 13: lost, duplicated and takeover per scenario.

    .venv/bin/python bench/chaos.py                    # SQLite; the multi-process one skipped
    CHAOS_DATABASE_URL=postgresql+asyncpg://... .venv/bin/python bench/chaos.py
    .venv/bin/python bench/chaos.py --inbox-only       # without bench/chaos_reliab.py's

Scenarios with the real ``opdbot run`` as a subprocess against the fake Bot API
(``tests/crash_helpers.py``):

- ``sigkill_burst_polling`` / ``sigkill_burst_webhook``: 40 users send a message at once; the
  bot is SIGKILLed once every update was acknowledged (polling: handed over by getUpdates;
  webhook: answered 200) with the first answers out; restarted. lost = never answered;
  duplicated = answered twice; in_flight = updates not marked done at the kill (the only ones
  allowed to repeat); duplicated_not_in_flight (target 0).
- ``redelivered_update``: Telegram sends one update three times (a timeout, a 5xx): answers.
- ``frozen_leader`` (PostgreSQL): two webhook processes, the leader SIGSTOPped longer than its
  lease: seconds until the standby leads, broadcast copies per user (target 1), whether the
  resumed old leader still leads (target False).

Then the scenarios of ``bench/chaos_reliab.py`` (issue 13 points 3, 4, 5, 8) unless
``--inbox-only``; they use ``CHAOS_RELIAB_DATABASE_URL``, set from ``CHAOS_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("VECTOR_CACHE_DIR", str(REPO / ".cache" / "kb-vectors"))


async def _fresh_db(tmp: Path) -> str:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.db import upgrade_async
    from bot.db.base import Base

    url = os.environ.get("CHAOS_DATABASE_URL")
    if not url:
        url = f"sqlite+aiosqlite:///{tmp / 'chaos.sqlite3'}"
        await upgrade_async(url)
        return url
    await upgrade_async(url)
    engine = create_async_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    return url


async def _with_fake(scenario):
    from bot.fakeapi import FakeTelegram

    tmp = Path(tempfile.mkdtemp(prefix="chaos_"))
    url = await _fresh_db(tmp)
    fake = FakeTelegram()
    fake.user(1000, "Admin")
    await fake.start()
    try:
        return await scenario(fake, url, tmp)
    finally:
        await fake.stop()


async def sigkill_burst_polling() -> dict:
    from tests.crash_helpers import burst_and_kill

    r = await _with_fake(lambda f, u, t: burst_and_kill(f, u, t, webhook=False, n=40))
    return _burst_figures(r)


async def sigkill_burst_webhook() -> dict:
    from tests.crash_helpers import burst_and_kill

    r = await _with_fake(lambda f, u, t: burst_and_kill(f, u, t, webhook=True, n=40))
    return _burst_figures(r)


def _burst_figures(r) -> dict:
    return {
        "sent": r.sent,
        "answered_at_kill": r.answered_at_kill,
        "in_flight_at_kill": len(r.not_done_at_kill),
        "lost": len(r.lost),
        "duplicated": len(r.duplicated),
        "duplicated_not_in_flight": len(r.dup_not_in_flight),
        "recovered_in_s": round(r.recovery_seconds, 1),
    }


async def redelivered_update() -> dict:
    import httpx

    from tests.crash_helpers import ANSWER, BotProcess, free_port

    async def run(fake, url, tmp):
        port = free_port()
        bot = BotProcess(fake, url, tmp, port=port, name="redeliver", env={"WEBHOOK_SECRET": "s3"})
        try:
            bot.start()
            await bot.ready()
            fake.user(8100, "Ayu")
            update = {
                "update_id": 42_000,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 8100, "type": "private"},
                    "from": {"id": 8100, "is_bot": False, "first_name": "Ayu"},
                    "text": "/privasi",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
                },
            }
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3"}
            codes = []
            async with httpx.AsyncClient(timeout=10) as client:
                for _ in range(3):
                    r = await client.post(
                        f"http://127.0.0.1:{port}/telegram", json=update, headers=headers
                    )
                    codes.append(r.status_code)
            await asyncio.sleep(3)
            answers = sum(
                1
                for c in fake.calls
                if c.method == "sendMessage"
                and c.params.get("chat_id") == 8100
                and ANSWER in str(c.params.get("text"))
            )
            return {"deliveries": 3, "http": codes, "answers": answers, "duplicated": answers - 1}
        finally:
            await bot.stop()

    return await _with_fake(run)


async def frozen_leader() -> dict:
    if not os.environ.get("CHAOS_DATABASE_URL", "").startswith("postgresql"):
        return {"skipped": "needs CHAOS_DATABASE_URL (PostgreSQL)"}
    from tests.crash_helpers import freeze_leader

    r = await _with_fake(freeze_leader)
    copies = list(r.broadcast_sent.values())
    return {
        "takeover_s": r.takeover_seconds,
        "broadcast_lost": sum(1 for c in copies if c == 0),
        "broadcast_duplicated": sum(1 for c in copies if c > 1),
        "answered_during_freeze": r.answered_during_freeze,
        "old_leader_leads_after_resume": r.old_leader_leads_after_resume,
        "error": r.error,
    }


INBOX = [sigkill_burst_polling, sigkill_burst_webhook, redelivered_update, frozen_leader]


async def _main(inbox_only: bool) -> None:
    scenarios = list(INBOX)
    if not inbox_only:
        if os.environ.get("CHAOS_DATABASE_URL"):
            os.environ.setdefault("CHAOS_RELIAB_DATABASE_URL", os.environ["CHAOS_DATABASE_URL"])
        import chaos_reliab

        scenarios += chaos_reliab.SCENARIOS
    for scenario in scenarios:
        started = time.monotonic()
        result = await scenario()
        print(f"{scenario.__name__} ({time.monotonic() - started:.0f}s): {result}", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inbox-only", action="store_true")
    sys.path.insert(0, str(REPO / "bench"))
    asyncio.run(_main(ap.parse_args().inbox_only))
