"""Black-box crash scenarios: the real ``opdbot run`` as a subprocess against the fake Bot API
(in this process), killed (SIGKILL) or frozen (SIGSTOP) at the dangerous moments.

Used by ``tests/test_crash.py`` (assertions) and ``bench/chaos.py`` (figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.db import Database
from bot.fakeapi import FakeTelegram
from bot.inbox.models import U_DONE, InboxUpdate

REPO = Path(__file__).resolve().parent.parent
WEBHOOK_URL = "https://bot.example.go.id:8443/telegram"
ANSWER = "Pemberitahuan privasi"  # what /privasi answers (one message, no registration needed)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """One ``python -m bot run`` (polling, or webhook on ``port``)."""

    def __init__(
        self,
        fake: FakeTelegram,
        db_url: str,
        workdir: Path,
        *,
        port: int | None = None,
        name: str = "bot",
        env: dict[str, str] | None = None,
    ) -> None:
        self.fake = fake
        self.db_url = db_url
        self.workdir = workdir
        self.port = port
        self.name = name
        self.extra = env or {}
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    async def run_cli(self, *args: str) -> tuple[int, str]:
        """``python -m bot ARGS`` with this process's environment (without blocking the loop)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=self.workdir,
            env=self.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode(errors="replace")

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("WEBHOOK_", "TELEGRAM_", "DATABASE_", "ADMIN_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=self.fake.token,
            TELEGRAM_BASE_URL=self.fake.base_url,
            DATABASE_URL=self.db_url,
            KNOWLEDGE_DIR=str(REPO / "knowledge"),
            VECTOR_CACHE_DIR=os.environ.get("VECTOR_CACHE_DIR", str(REPO / ".cache/kb-vectors")),
            ADMIN_IDS="1000",
            LOG_LEVEL="INFO",
            INBOX_LEASE_SECONDS="3",
            PYTHONUNBUFFERED="1",
        )
        if self.port is not None:
            env.update(
                WEBHOOK_URL=WEBHOOK_URL,
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(self.port),
            )
        env.update(self.extra)
        return env

    def start(self) -> None:
        self.starts += 1
        log = open(self.workdir / f"{self.name}-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=self.workdir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    async def health(self) -> dict | None:
        if self.port is None:
            return None
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                r = await client.get(f"http://127.0.0.1:{self.port}/healthz")
            return r.json()
        except (httpx.HTTPError, ValueError):
            return None

    async def ready(self, timeout: float = 90.0) -> None:  # noqa: ASYNC109
        """Polling: its long poll is open. Webhook: /healthz answers and the webhook is set."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited: " + self.last_log())
            if self.port is None:
                if self.fake._polls_waiting > 0 and self.fake.get_updates_count > 0:
                    return
            elif await self.health() is not None and self.fake.webhook_url:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not ready in {timeout}s: " + self.last_log())

    def last_log(self, n: int = 3000) -> str:
        path = self.workdir / f"{self.name}-{self.starts}.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    async def stop(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """SIGTERM (after SIGCONT, in case it is frozen), SIGKILL after ``timeout``. Waits in
        a thread: the fake Bot API in this loop must keep answering the bot shutting down."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait, 10)


@dataclass
class BurstResult:
    mode: str
    sent: int
    answered_at_kill: int = 0
    not_done_at_kill: set[int] = field(default_factory=set)  # update ids in flight at the kill
    lost: list[int] = field(default_factory=list)  # chats never answered
    duplicated: dict[int, int] = field(default_factory=dict)  # chat -> answers (over 1)
    dup_not_in_flight: list[int] = field(default_factory=list)  # must stay empty
    recovery_seconds: float = 0.0


def answers_per_chat(fake: FakeTelegram, chats: list[int]) -> dict[int, int]:
    counts = dict.fromkeys(chats, 0)
    for c in list(fake.calls):
        chat = c.params.get("chat_id")
        if c.method == "sendMessage" and c.ok and chat in counts and ANSWER in str(c.params):
            counts[chat] += 1
    return counts


async def not_done(db_url: str) -> set[int]:
    db = Database(db_url)
    try:
        async with db.session() as s:
            rows = await s.scalars(
                select(InboxUpdate.update_id).where(InboxUpdate.status != U_DONE)
            )
            return set(rows.all())
    finally:
        await db.dispose()


async def burst_and_kill(
    fake: FakeTelegram,
    db_url: str,
    workdir: Path,
    *,
    webhook: bool,
    n: int = 40,
    first_user: int = 5000,
    stall: float = 0.4,
) -> BurstResult:
    """A burst of ``n`` messages from ``n`` users; SIGKILL once every update was acknowledged
    (polling: handed over by getUpdates; webhook: answered 200) and the first answers are out,
    with the rest still being handled; restart; count the answers per chat."""
    port = free_port() if webhook else None
    if webhook:
        fake.route_webhook(f"http://127.0.0.1:{port}")
    bot = BotProcess(fake, db_url, workdir, port=port, name="webhook" if webhook else "polling")
    result = BurstResult("webhook" if webhook else "polling", n)
    users = list(range(first_user, first_user + n))
    for u in users:
        fake.user(u, f"Peserta {u}")
    try:
        bot.start()
        await bot.ready()
        # every answer takes a while on Telegram's side: the kill finds some in flight
        fake.stall("sendMessage", stall, times=n * 3)
        update_ids = {}
        for u in users:
            update_ids[u] = fake.send_message(u, "/privasi")["update_id"]
        last = max(update_ids.values())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            acked = (
                fake._delivered_upto >= last and not fake._updates
                if webhook
                else (fake._delivered_upto >= last)
            )
            if acked and sum(answers_per_chat(fake, users).values()) >= 1:
                break
            await asyncio.sleep(0.005)
        bot.kill()
        result.answered_at_kill = sum(1 for v in answers_per_chat(fake, users).values() if v)
        result.not_done_at_kill = await not_done(db_url) & set(update_ids.values())
        # the updates not even stored yet are in flight too (polling: not confirmed)
        stored_any = await _stored(db_url, set(update_ids.values()))
        result.not_done_at_kill |= set(update_ids.values()) - stored_any
        t0 = time.monotonic()
        bot.start()
        await bot.ready()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            counts = answers_per_chat(fake, users)
            if all(counts.values()) and not await not_done(db_url) & set(update_ids.values()):
                break
            await asyncio.sleep(0.1)
        result.recovery_seconds = time.monotonic() - t0
        await asyncio.sleep(stall + 0.5)  # any late repeat shows up
        counts = answers_per_chat(fake, users)
        result.lost = [u for u, k in counts.items() if k == 0]
        result.duplicated = {u: k for u, k in counts.items() if k > 1}
        result.dup_not_in_flight = [
            u for u in result.duplicated if update_ids[u] not in result.not_done_at_kill
        ]
        return result
    finally:
        await bot.stop()


async def _stored(db_url: str, ids: set[int]) -> set[int]:
    db = Database(db_url)
    try:
        async with db.session() as s:
            rows = await s.scalars(
                select(InboxUpdate.update_id).where(InboxUpdate.update_id.in_(ids))
            )
            return set(rows.all())
    finally:
        await db.dispose()


@dataclass
class TakeoverResult:
    takeover_seconds: float | None = None  # SIGSTOP of the leader -> the standby leads
    broadcast_sent: dict[int, int] = field(default_factory=dict)  # user -> copies received
    answered_during_freeze: bool = False
    old_leader_leads_after_resume: bool | None = None
    error: str | None = None


async def _leads(p: BotProcess) -> bool:
    h = await p.health()
    return bool(h and h.get("leader"))


async def wait_until(cond, timeout: float) -> bool:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await cond():
            return True
        await asyncio.sleep(0.2)
    return False


async def freeze_leader(
    fake: FakeTelegram, db_url: str, workdir: Path, *, users: tuple[int, ...] = (7001, 7002, 7003)
) -> TakeoverResult:
    """Two webhook processes on one PostgreSQL; the leader is frozen (SIGSTOP) longer than its
    lease while a broadcast is queued; the load balancer sends traffic to the standby. Then the
    old leader resumes."""
    result = TakeoverResult()
    for u in users:
        fake.user(u, f"Pegawai {u}")
    procs = [BotProcess(fake, db_url, workdir, port=free_port(), name=n) for n in "ab"]
    try:
        for p in procs:  # started together; whichever takes the lease first leads
            p.start()
        await asyncio.gather(*(p.ready() for p in procs))
        leader = None

        async def someone_leads() -> bool:
            nonlocal leader
            for p in procs:
                if await _leads(p):
                    leader = p
                    return True
            return False

        if not await wait_until(someone_leads, 30):
            result.error = "nobody leads"
            return result
        a = leader
        b = next(p for p in procs if p is not a)
        fake.route_webhook(f"http://127.0.0.1:{a.port}")
        for u in users:  # registered through the leader
            mark = fake.mark()
            fake.send_message(u, "/start")
            await fake.wait_for("sendMessage", chat_id=u, after=mark, timeout=30)
        a.signal(signal.SIGSTOP)
        frozen = time.monotonic()
        fake.route_webhook(f"http://127.0.0.1:{b.port}")  # the load balancer drops a
        cli = asyncio.create_task(b.run_cli("broadcast", "Uji siaran saat pembekuan"))
        if await wait_until(lambda: _leads(b), 40):
            result.takeover_seconds = round(time.monotonic() - frozen, 1)
        code, out = await cli
        if code != 0:
            result.error = f"broadcast CLI failed: {out[-500:]}"
            return result
        mark = fake.mark()
        fake.send_message(users[0], "/privasi")
        with contextlib.suppress(AssertionError):
            await fake.wait_for(
                "sendMessage",
                chat_id=users[0],
                after=mark,
                timeout=30,
                predicate=lambda c: ANSWER in str(c.params.get("text")),
            )
            result.answered_during_freeze = True

        async def delivered() -> bool:
            return all(_broadcast_copies(fake, u) for u in users)

        await wait_until(delivered, 30)
        a.signal(signal.SIGCONT)

        async def a_stepped_down() -> bool:
            h = await a.health()
            return h is not None and not h["leader"]

        result.old_leader_leads_after_resume = not await wait_until(a_stepped_down, 10)
        await asyncio.sleep(1)  # a late send by the old leader would show now
        result.broadcast_sent = {u: _broadcast_copies(fake, u) for u in users}
        return result
    finally:
        for p in procs:
            await p.stop()


def _broadcast_copies(fake: FakeTelegram, user: int) -> int:
    return sum(
        1
        for c in list(fake.calls)
        if c.method == "sendMessage"
        and c.ok
        and c.params.get("chat_id") == user
        and "Uji siaran" in str(c.params.get("text"))
    )
