"""Helpdesk benchmark (prints figures; not part of the test suite).

    .venv/bin/python bench/tickets.py                  # SQLite in a temp folder
    .venv/bin/python bench/tickets.py --database-url postgresql+asyncpg://... (tables wiped!)

200 open tickets (a few urgent incidents, a few claimed), 5 admins. Measured through the real
PTB application and the fake Bot API: the time from an admin's ``/tiket`` to the bot's reply,
paging through the list, and queueing plus delivering the daily digest to the 5 admins.
Target: each under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TICKETS = 200
ADMINS = [9000 + i for i in range(5)]
HELPDESK = -1009999


async def _wipe(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.db.base import Base

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


async def _seed(core, now: datetime) -> None:
    from bot.tickets.models import Ticket

    async with core.db.session() as s:
        for i in range(TICKETS):
            incident = i % 25 == 0
            s.add(
                Ticket(
                    kind="incident" if incident else "question",
                    urgent=incident,
                    status="open",
                    asker_name=f"Staf {i}",
                    opd_name=f"Dinas Uji {i % 30}",
                    question=f"Pertanyaan uji nomor {i}: bagaimana cara mengatur akun dinas?",
                    platform="instagram" if incident else None,
                    account=f"@akun.uji{i}" if incident else None,
                    steps={},
                    helpdesk_chat_id=HELPDESK,
                    claimed_by=ADMINS[i % 5] if i % 7 == 0 else None,
                    claimed_name=f"Admin {i % 5}" if i % 7 == 0 else None,
                    created_at=now - timedelta(hours=2 + i),
                    updated_at=now,
                )
            )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url")
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()

    from bot.config import load_settings
    from bot.core import Core
    from bot.db import upgrade
    from bot.fakeapi import FakeTelegram
    from bot.tickets.digest import queue_digest
    from handlers.app import build_application, start_app, stop_app

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3"
    await asyncio.to_thread(upgrade, url)
    if url.startswith("postgresql"):
        await _wipe(url)
    async with FakeTelegram() as fake:
        fake.add_chat(HELPDESK, "supergroup", "Helpdesk")
        settings = load_settings(
            telegram_bot_token=fake.token,
            telegram_base_url=fake.base_url,
            database_url=url,
            admin_ids=",".join(map(str, ADMINS)),
            helpdesk_chat_id=HELPDESK,
            knowledge_dir=REPO / "knowledge",
            _env_file=None,
        )
        core = await Core.create(settings, migrate=False)
        app = build_application(core)
        await start_app(app)
        try:
            for a in ADMINS:
                fake.send_message(a, "/start", first_name=f"Admin {a}")
            await fake.wait_idle(timeout=60)
            now = datetime.now(UTC).replace(hour=5, minute=0, second=0, microsecond=0)
            await _seed(core, now)

            lists, pages = [], []
            for r in range(args.rounds):
                admin = ADMINS[r % 5]
                mark = fake.mark()
                t0 = time.perf_counter()
                fake.send_message(admin, "/tiket")
                first = await fake.wait_for("sendMessage", chat_id=admin, after=mark, timeout=30)
                lists.append(time.perf_counter() - t0)
                mark = fake.mark()
                t0 = time.perf_counter()
                fake.press_button(admin, int(first.result["message_id"]), "tk:l:10")
                await fake.wait_for("editMessageText", chat_id=admin, after=mark, timeout=30)
                pages.append(time.perf_counter() - t0)
            assert "Tiket terbuka: 200" in first.params["text"], first.params["text"][:80]

            mark = fake.mark()
            t0 = time.perf_counter()
            queued = await queue_digest(core, now)
            t_queue = time.perf_counter() - t0
            for a in ADMINS:
                await fake.wait_for("sendMessage", chat_id=a, after=mark, timeout=30)
            t_digest = time.perf_counter() - t0
        finally:
            await stop_app(app)
            await core.close()
    tmp.cleanup()

    def ms(xs):
        return f"p50 {statistics.median(xs) * 1000:.0f} ms, max {max(xs) * 1000:.0f} ms"

    db = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"helpdesk bench ({db}): {TICKETS} open tickets, {len(ADMINS)} admins")
    print(f"  /tiket reply:         {ms(lists)}  (target < 1000 ms)")
    print(f"  /tiket page 11 edit:  {ms(pages)}  (target < 1000 ms)")
    print(f"  digest queued:        {t_queue * 1000:.0f} ms for {queued} admins")
    print(
        f"  digest delivered:     {t_digest * 1000:.0f} ms to all {len(ADMINS)} (target < 1000 ms)"
    )


if __name__ == "__main__":
    asyncio.run(main())
