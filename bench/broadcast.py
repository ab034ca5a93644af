"""Broadcast benchmark against the fake Bot API (prints figures; not part of the test suite).

    .venv/bin/python bench/broadcast.py                       # 5,000 users at 25 msg/s (~7 min)
    .venv/bin/python bench/broadcast.py --users 500 --rate 25 # a quick run
    .venv/bin/python bench/broadcast.py --database-url postgresql+asyncpg://... (tables wiped!)

Two scenarios, one after the other (``--scenario rate|faults|all``):

1. rate: a clean broadcast; the effective sending rate against ``--rate`` (target >= 95 %).
2. faults: 2 % of chats answer 403, 1 % of send calls answer 429 (retry_after 1 s); the bot
   process is SIGKILLed half way and restarted. Afterwards: users missing (target 0), repeats
   (target <= rows in flight at the kill), blocked users left active (target 0), and the
   latency of questions asked while the broadcast runs (p50 / p99, target p99 < 1 s).

The bot runs as a child process (the real PTB application, polling); the fake Bot API and the
measurements live in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OUT = REPO / "bench" / "out"
TEXT = "Siaran uji: rapat koordinasi admin media sosial OPD hari Jumat pukul 09.00 WITA."
QUESTIONS = [
    "gimana cara pasang 2fa di instagram",
    "ukuran feed instagram berapa",
    "cara bikin caption yang menarik",
    "akun ig dinas kena hack gimana",
    "kapan waktu terbaik upload konten",
]
FIRST_USER = 10_000_000


# ---------------------------------------------------------------------------------- the child


async def child_main(cfg: dict) -> None:
    import logging

    from bot.config import load_settings
    from bot.core import Core
    from handlers.app import build_application, start_app, stop_app

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(
        telegram_bot_token=cfg["token"],
        telegram_base_url=cfg["base_url"],
        database_url=cfg["database_url"],
        broadcast_rate=cfg["rate"],
        timezone="Asia/Makassar",
        _env_file=None,
    )
    core = await Core.create(settings, migrate=False)
    core.background.sender_options = {"lease_seconds": cfg["lease"]}
    core.background.lead_retry = 1.0
    app = build_application(core)
    await start_app(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await stop_app(app)
    await core.close()


# --------------------------------------------------------------------------------- the parent


class Run:
    def __init__(self, args: argparse.Namespace, fake, url: str, tag: str) -> None:
        self.args = args
        self.fake = fake
        self.url = url
        self.tag = tag
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def spawn(self) -> None:
        self.starts += 1
        cfg = {
            "token": self.fake.token,
            "base_url": self.fake.base_url,
            "database_url": self.url,
            "rate": self.args.rate,
            "lease": self.args.lease,
        }
        log = open(OUT / f"child-{self.tag}-{self.starts}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", json.dumps(cfg)],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            for _ in range(100):
                if self.proc.poll() is not None:
                    return
                await asyncio.sleep(0.1)
            self.kill()


async def prepare_database(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.db import upgrade_async
    from bot.db.base import Base

    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(path) + suffix)  # noqa: ASYNC240 - before anything runs
    await upgrade_async(url)
    if not url.startswith("sqlite"):
        engine = create_async_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await engine.dispose()


async def add_population(
    db, n: int, *, first: int = FIRST_USER, privacy_accepted: bool = False
) -> list[int]:
    """``n`` registered OPD admins (telegram and chat ids from ``first``), inserted in bulk;
    their chat ids. Also used by ``bench/rate_storm.py``."""
    from sqlalchemy import insert

    from bot.accounts.models import User
    from bot.db.base import utcnow

    now = utcnow()
    rows = [
        {
            "telegram_id": first + i,
            "chat_id": first + i,
            "name": f"Admin OPD {i}",
            "role": "staff",
            "is_active": True,
            "privacy_accepted_at": now if privacy_accepted else None,
            # no tips / calendar reminders: only the broadcast or the answers are measured
            "tips_enabled": False,
            "calendar_enabled": False,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    async with db.session() as s:
        for i in range(0, n, 1000):
            await s.execute(insert(User), rows[i : i + 1000])
    return [r["chat_id"] for r in rows]


def broadcast_sends(fake, start: int = 0) -> list:
    return [
        c
        for c in fake.calls[start:]
        if c.method == "sendMessage" and c.ok and c.params.get("text") == TEXT
    ]


async def outbox_counts(db, mid: int) -> dict[str, int]:
    from sqlalchemy import func, select

    from bot.outbox.models import Delivery

    async with db.session() as s:
        rows = await s.execute(
            select(Delivery.status, func.count(Delivery.id))
            .where(Delivery.message_id == mid)
            .group_by(Delivery.status)
        )
        return {k: int(v) for k, v in rows.all()}


async def queue_broadcast(db, url: str) -> tuple[int, int]:
    from bot.accounts.service import UserService
    from bot.config import load_settings
    from bot.outbox import OutboxService

    settings = load_settings(database_url=url, _env_file=None)
    outbox = OutboxService(db, settings, UserService(db, settings))
    return await outbox.broadcast_now(TEXT)


async def ask_questions(
    fake, users: list[int], latencies: list[tuple[float, float, bool]], stop: asyncio.Event
):
    """One question every ~0.5 s from a random user: (asked at, latency to the first reply,
    whether a call of that reply itself was answered 429)."""
    rng = random.Random(7)
    while not stop.is_set():
        chat = rng.choice(users)
        mark = fake.mark()
        t0 = time.monotonic()
        fake.send_message(chat, rng.choice(QUESTIONS))
        try:
            call = await fake.wait_for(
                "sendMessage",
                chat_id=chat,
                after=mark,
                timeout=15,
                predicate=lambda c: c.ok and c.params.get("text") != TEXT,
            )
            hit = any(
                c.status == 429 and c.chat_id == chat and c.params.get("text") != TEXT
                for c in fake.calls[mark:]
            )
            latencies.append((t0, call.at - t0, hit))
        except AssertionError:
            latencies.append((t0, float("inf"), False))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, round(p / 100 * (len(v) - 1))))
    return v[k]


async def scenario_rate(args, fake, url) -> dict:
    from bot.db import Database

    await prepare_database(url)
    db = Database(url)
    users = await add_population(db, args.users)
    for chat in users:
        fake.user(chat)
    run = Run(args, fake, url, "rate")
    run.spawn()
    await fake.wait_polling(timeout=60)
    mark = fake.mark()
    mid, total = await queue_broadcast(db, url)
    deadline = time.monotonic() + args.users / args.rate * 3 + 60
    while time.monotonic() < deadline:
        if (await outbox_counts(db, mid)).get("pending", 0) + (await outbox_counts(db, mid)).get(
            "sending", 0
        ) == 0:
            break
        await asyncio.sleep(0.5)
    await run.stop()
    sends = broadcast_sends(fake, mark)
    await db.dispose()
    span = sends[-1].at - sends[0].at if len(sends) > 1 else float("nan")
    rate = (len(sends) - 1) / span if span and span == span else float("nan")
    return {"total": total, "sent": len(sends), "seconds": span, "rate": rate}


async def scenario_faults(args, fake, url) -> dict:
    from sqlalchemy import func, select

    from bot.accounts.models import User
    from bot.db import Database
    from bot.outbox.models import Delivery

    await prepare_database(url)
    db = Database(url)
    users = await add_population(db, args.users)
    for chat in users:
        fake.user(chat)
    rng = random.Random(3)
    blocked = set(rng.sample(users, round(len(users) * 0.02)))
    for chat in blocked:
        fake.block(chat)
    run = Run(args, fake, url, "faults")
    run.spawn()
    await fake.wait_polling(timeout=60)
    fake.rate_limit(0.01, retry_after=1, seed=11)
    mark = fake.mark()
    mid, total = await queue_broadcast(db, url)
    t0 = time.monotonic()
    latencies: list[tuple[float, float, bool]] = []
    stop_questions = asyncio.Event()
    asker = asyncio.create_task(
        ask_questions(fake, [u for u in users if u not in blocked], latencies, stop_questions)
    )
    kill_at = int((len(users) - len(blocked)) * args.kill_at)
    in_flight = None
    killed_at = restarted_at = ready_at = None
    deadline = t0 + args.users / args.rate * 4 + args.lease + 120
    scanned = mark
    delivered = 0
    while time.monotonic() < deadline:
        new = broadcast_sends(fake, scanned)
        scanned = len(fake.calls)
        delivered += len(new)
        if killed_at is None and args.kill_at < 1 and delivered >= kill_at:
            run.kill()
            killed_at = time.monotonic()
            async with db.session() as s:
                in_flight = await s.scalar(
                    select(func.count(Delivery.id)).where(
                        Delivery.message_id == mid, Delivery.status == "sending"
                    )
                )
            await asyncio.sleep(args.restart_after)
            run.spawn()
            restarted_at = time.monotonic()
            await fake.wait_polling(timeout=60)
            ready_at = time.monotonic()
        counts = await outbox_counts(db, mid)
        idle = counts.get("pending", 0) + counts.get("sending", 0) == 0
        if idle and (killed_at is not None or args.kill_at >= 1):
            break
        await asyncio.sleep(0.2)
    finished = time.monotonic()
    stop_questions.set()
    await asker
    await run.stop()
    fake.rate_limit(0)
    counts = await outbox_counts(db, mid)
    per_chat: dict[int, int] = {}
    for c in broadcast_sends(fake, mark):
        per_chat[c.params["chat_id"]] = per_chat.get(c.params["chat_id"], 0) + 1
    reachable = [u for u in users if u not in blocked]
    missing = sum(1 for u in reachable if per_chat.get(u, 0) == 0)
    repeats = sum(n - 1 for n in per_chat.values() if n > 1)
    async with db.session() as s:
        still_active = await s.scalar(
            select(func.count(User.id)).where(
                User.chat_id.in_(list(blocked)), User.is_active.is_(True)
            )
        )
    too_many = sum(
        1 for c in fake.calls[mark:] if c.method == "sendMessage" and not c.ok and c.status == 429
    )
    await db.dispose()

    # Questions asked while the bot process was down (killed, not yet polling again) measure
    # the restart, not the broadcast: reported apart.
    def during_outage(t: float, lat: float) -> bool:
        return (
            killed_at is not None
            and ready_at is not None
            and t <= ready_at
            and (t + lat >= killed_at)
        )

    outage = [lat for t, lat, _ in latencies if during_outage(t, lat)]
    normal = [(lat, hit) for t, lat, hit in latencies if not during_outage(t, lat)]
    finite = [lat for lat, _ in normal if lat != float("inf")]
    clean = [lat for lat, hit in normal if lat != float("inf") and not hit]
    unanswered = sum(1 for lat, _ in normal if lat == float("inf"))
    return {
        "total": total,
        "counts": counts,
        "blocked_chats": len(blocked),
        "answers_429": too_many,
        "missing": missing,
        "repeats": repeats,
        "in_flight_at_kill": in_flight,
        "blocked_still_active": still_active,
        "killed_after_s": None if killed_at is None else killed_at - t0,
        "restart_to_end_s": None if restarted_at is None else finished - restarted_at,
        "total_s": finished - t0,
        "questions": len(latencies) - len(outage),
        "unanswered": unanswered,
        "asked_during_restart": len(outage),
        "restart_latency_max": max(outage) if outage else float("nan"),
        "replies_hit_429": sum(1 for _, hit in normal if hit),
        "clean_p99": pct(clean, 99),
        "latency_p50": pct(finite, 50),
        "latency_p99": pct(finite, 99),
        "latency_max": max(finite) if finite else float("nan"),
        "latency_mean": statistics.fmean(finite) if finite else float("nan"),
    }


async def parent_main(args: argparse.Namespace) -> None:
    from bot.fakeapi import FakeTelegram

    OUT.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite+aiosqlite:///{OUT / 'broadcast.sqlite3'}"
    print(
        f"users={args.users} rate={args.rate}/s lease={args.lease}s database={url.split('://')[0]}"
    )
    if args.scenario in ("rate", "all"):
        async with FakeTelegram() as fake:
            r = await scenario_rate(args, fake, url)
        print("\n== clean broadcast ==")
        print(f"recipients            {r['total']}")
        print(f"sent                  {r['sent']}")
        print(f"sending time          {r['seconds']:.1f} s")
        print(
            f"effective rate        {r['rate']:.2f} msg/s = "
            f"{100 * r['rate'] / args.rate:.1f} % of {args.rate:g} (target >= 95 %)"
        )
    if args.scenario in ("faults", "all"):
        async with FakeTelegram() as fake:
            r = await scenario_faults(args, fake, url)
        print("\n== 2 % blocked (403), 1 % flood control (429), SIGKILL half way ==")
        print(f"recipients            {r['total']} ({r['blocked_chats']} have blocked the bot)")
        print(f"outbox at the end     {r['counts']}")
        print(f"429 answers           {r['answers_429']}")
        if r["killed_after_s"] is not None:
            print(f"killed after          {r['killed_after_s']:.1f} s")
            print(f"rows in flight (kill) {r['in_flight_at_kill']}")
            print(f"restart -> drained    {r['restart_to_end_s']:.1f} s")
        print(f"total time            {r['total_s']:.1f} s")
        print(f"users missing         {r['missing']} (target 0)")
        print(
            f"repeats               {r['repeats']} "
            f"(target <= rows in flight: {r['in_flight_at_kill']})"
        )
        print(f"blocked still active  {r['blocked_still_active']} (target 0)")
        print(
            f"reply latency         n={r['questions']} unanswered={r['unanswered']} "
            f"p50={r['latency_p50'] * 1000:.0f} ms p99={r['latency_p99'] * 1000:.0f} ms "
            f"max={r['latency_max'] * 1000:.0f} ms (target p99 < 1000 ms)"
        )
        print(
            f"  of which {r['replies_hit_429']} replies were themselves answered 429 (PTB waits "
            f"retry_after); p99 of the others: {r['clean_p99'] * 1000:.0f} ms"
        )
        if r["asked_during_restart"]:
            print(
                f"asked while down      {r['asked_during_restart']} question(s), answered "
                f"after the restart within {r['restart_latency_max']:.1f} s"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=25.0)
    ap.add_argument("--lease", type=float, default=60.0, help="sender lease seconds")
    ap.add_argument("--kill-at", type=float, default=0.5, help="fraction sent before SIGKILL")
    ap.add_argument("--restart-after", type=float, default=1.0, help="seconds down")
    ap.add_argument("--scenario", choices=("rate", "faults", "all"), default="all")
    ap.add_argument("--database-url", default=None, help="default: SQLite in bench/out/")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        asyncio.run(child_main(json.loads(args.child)))
        return
    asyncio.run(parent_main(args))


if __name__ == "__main__":
    main()
