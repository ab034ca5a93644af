"""Rate storm: 1,000 users ask within 0.7 s; one rate budget for the whole token.

    .venv/bin/python bench/rate_storm.py                  # both scenarios, SQLite (~2 min)
    .venv/bin/python bench/rate_storm.py --users 300      # a quick run
    .venv/bin/python bench/rate_storm.py --scenario storm|storm+broadcast|all

The bot runs as a child process (the real PTB application, polling the fake Bot API, SQLite);
the fake enforces Telegram's flood limits (30 messages/s overall, about 1/s per chat, 20/min per
group: 429 with retry_after). Scenarios:

1. storm: ``--users`` registered users each ask one question, all within ``--spread`` seconds.
   Figures: answers/s (target >= 28), time of the last answer after the first question (target
   <= 40 s), p50 / p99 answer latency, typing indicators sent, 429 answers (target 0).
2. storm+broadcast: the same with a broadcast to ``--broadcast`` other users queued just before:
   the most messages in any one-second window (target <= 30: under Telegram's limit), 429
   answers (target 0), broadcast messages delivered during the storm (the floor keeps it going).
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
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUESTIONS = [
    "gimana cara pasang 2fa di instagram",
    "ukuran feed instagram berapa",
    "cara bikin caption yang menarik",
    "akun ig dinas kena hack gimana",
    "kapan waktu terbaik upload konten",
    "cara membuat infografis di canva",
    "apa itu engagement rate",
    "bagaimana menanggapi komentar kasar",
]
QUESTION_FILES = ("real_questions.tsv", "questions_holdout.tsv", "questions_extra.tsv")


def load_questions(kind: str) -> list[str]:
    """``eight``: the eight questions above, repeated (many users asking the same few things);
    ``real``: the benchmark's real and hand-written questions (882 distinct texts, in a fixed
    shuffled order), so nearly every question is new to the bot."""
    if kind == "eight":
        return QUESTIONS
    seen: dict[str, None] = {}
    for name in QUESTION_FILES:
        lines = (REPO / "bench" / name).read_text(encoding="utf-8").splitlines()[1:]
        for line in lines:
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1].strip():
                seen.setdefault(parts[1].strip(), None)
    out = list(seen)
    random.Random(13).shuffle(out)
    return out


BROADCAST_TEXT = "Siaran uji badai: rapat koordinasi admin media sosial OPD hari Jumat."
FIRST = 20_000_000
SENDS = ("sendMessage", "editMessageText", "copyMessage")


async def child_main(cfg: dict) -> None:
    import logging

    from bot.config import load_settings
    from bot.core import Core
    from handlers.app import build_application, start_app, stop_app

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings(
        telegram_bot_token=cfg["token"],
        telegram_base_url=cfg["base_url"],
        database_url=cfg["database_url"],
        broadcast_rate=25,
        _env_file=None,
    )
    core = await Core.create(settings, migrate=False)
    core.background.scheduler_enabled = False
    app = build_application(core)
    await start_app(app)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    profiler = None
    if cfg.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    await stop.wait()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(cfg["profile"])
    b = core.budget
    stats = {
        "granted": b.granted,
        "skipped": b.skipped,
        "pauses": b.pauses,
        "paced_grants": b.paced_grants,
        "late_ms_per_paced_grant": round(1000 * b.late_seconds / max(1, b.paced_grants), 2),
    }
    write_json(cfg["stats"], stats)
    await stop_app(app)
    await core.close()


async def seed(url: str, n: int) -> None:
    from bench.broadcast import add_population
    from bot.db import Database, upgrade_async

    await upgrade_async(url)
    db = Database(url)
    await add_population(db, n, first=FIRST, privacy_accepted=True)
    await db.dispose()


async def queue_broadcast(url: str, chats: list[int]) -> int:
    from bot.accounts.service import UserService
    from bot.config import load_settings
    from bot.db import Database
    from bot.outbox import OutboxService
    from bot.outbox.models import KIND_BROADCAST, MSG_RUNNING
    from bot.outbox.store import Recipient

    settings = load_settings(database_url=url, _env_file=None)
    db = Database(url)
    outbox = OutboxService(db, settings, UserService(db, settings))
    mid, _ = await outbox.create_message(KIND_BROADCAST, text=BROADCAST_TEXT, status=MSG_RUNNING)
    await outbox.enqueue(mid, [Recipient(chat_id=c) for c in chats])
    await db.dispose()
    return mid


def write_json(path: str, data: dict) -> None:
    Path(path).write_text(json.dumps(data))


def read_json(path: str) -> dict | None:
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the process's main thread (the event loop) and of its other
    threads together (searches, the SQLite connection) (Linux)."""
    main = other = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / tick
        if task.name == str(pid):
            main += cpu
        else:
            other += cpu
    return main, other


def max_per_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def storm(
    fake,
    users: list[int],
    spread: float,
    timeout: float,  # noqa: ASYNC109 - the bench's deadline, not a cancellation scope
    questions: list[str],
) -> dict:
    mark = fake.mark()
    asked: dict[int, float] = {}
    t0 = time.monotonic()
    for i, uid in enumerate(users):
        target = t0 + spread * i / max(1, len(users) - 1)
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        fake.send_message(uid, questions[i % len(questions)])
        asked[uid] = time.monotonic()
    inject_end = time.monotonic() - t0
    answered: dict[int, float] = {}
    deadline = t0 + timeout
    index = mark
    while len(answered) < len(users) and time.monotonic() < deadline:
        calls = fake.calls
        while index < len(calls):
            c = calls[index]
            index += 1
            chat = c.params.get("chat_id")
            if c.method == "sendMessage" and c.ok and chat in asked and chat not in answered:
                answered[chat] = c.at
        await asyncio.sleep(0.05)
    window = fake.calls[mark:]
    lat = sorted(answered[u] - asked[u] for u in answered)
    last = max(answered.values()) - t0 if answered else float("nan")
    first_q = t0
    sends = [c for c in window if c.method in SENDS]
    return {
        "users": len(users),
        "injected_in_s": round(inject_end, 2),
        "answered": len(answered),
        "answers_per_s": round(len(answered) / (max(answered.values()) - first_q), 1)
        if answered
        else 0.0,
        "last_answer_s": round(last, 1),
        "p50_s": round(statistics.median(lat), 1) if lat else None,
        "p99_s": round(lat[int(0.99 * (len(lat) - 1))], 1) if lat else None,
        "typing": sum(1 for c in window if c.method == "sendChatAction"),
        "http_429": sum(1 for c in window if c.status == 429),
        "max_msgs_in_1s": max_per_window([c.at for c in sends if c.ok]),
        "max_calls_in_1s": max_per_window(  # typing indicators too
            [c.at for c in window if c.ok and c.method in (*SENDS, "sendChatAction")]
        ),
        "broadcast_sent": sum(
            1
            for c in window
            if c.method == "sendMessage" and c.ok and c.params.get("text") == BROADCAST_TEXT
        ),
        "_window": window,
    }


def spawn(cfg: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 - the child's output, open while it runs
    return subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(cfg)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def main(args: argparse.Namespace) -> None:
    from bot.fakeapi import FakeTelegram

    questions = load_questions(args.questions)
    tmp = Path(tempfile.mkdtemp(prefix="rate_storm_"))
    url = f"sqlite+aiosqlite:///{tmp / 'storm.sqlite3'}"
    n = args.users
    total = 2 * n + args.broadcast
    await seed(url, total)
    fake = FakeTelegram()
    for i in range(total):
        fake.user(FIRST + i, f"Admin {i}")
    await fake.start()
    fake.enforce_limits()
    cfg = {"token": fake.token, "base_url": fake.base_url, "database_url": url}
    if args.profile:
        cfg["profile"] = args.profile
    scenarios = ["storm", "storm+broadcast"] if args.scenario == "all" else [args.scenario]
    results = {}
    try:
        for name in scenarios:  # a fresh bot for each: nothing learned from the one before
            results[name] = await run_scenario(name, fake, cfg, url, args, questions, tmp)
        for name, r in results.items():
            r.pop("_window", None)
            print(f"{name}: " + json.dumps(r))
        checks = []
        if "storm" in results:
            s = results["storm"]
            checks += [
                ("storm answers/s >= 28", s["answers_per_s"] >= 28),
                ("storm last answer <= 40 s", s["last_answer_s"] <= 40),
                ("storm all answered", s["answered"] == s["users"]),
                ("storm no 429", s["http_429"] == 0),
            ]
        if "storm+broadcast" in results:
            b = results["storm+broadcast"]
            checks += [
                ("storm+broadcast answers/s >= 28", b["answers_per_s"] >= 28),
                ("storm+broadcast last answer <= 40 s", b["last_answer_s"] <= 40),
                ("storm+broadcast max msgs in 1 s <= 30", b["max_msgs_in_1s"] <= 30),
                ("storm+broadcast no 429", b["http_429"] == 0),
                ("storm+broadcast all answered", b["answered"] == b["users"]),
                ("storm+broadcast broadcast kept going", b["broadcast_sent"] > 0),
            ]
        for label, ok in checks:
            print(f"{'PASS' if ok else 'FAIL'} {label}")
        print(f"limit hits at the fake: {fake.limit_hits}; load average: {os.getloadavg()}")
    finally:
        await fake.stop()


async def run_scenario(
    name: str, fake, cfg: dict, url: str, args: argparse.Namespace, questions: list[str], tmp: Path
) -> dict:
    n = args.users
    mark = fake.mark()
    polls = fake.get_updates_count
    cfg = {**cfg, "stats": str(tmp / f"budget-{name}.json")}
    proc = spawn(cfg, tmp / f"child-{name}.log")
    try:
        await fake.wait_for("setMyCommands", timeout=120, after=mark)
        while fake.get_updates_count == polls:  # noqa: ASYNC110 - a counter, not an event
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        if name == "storm":
            users = [FIRST + i for i in range(n)]
            cpu0, t0, th0 = cpu_seconds(proc.pid), time.monotonic(), thread_cpu(proc.pid)
            r = await storm(fake, users, args.spread, args.timeout, questions)
        else:
            targets = [FIRST + 2 * n + i for i in range(args.broadcast)]
            await queue_broadcast(url, targets)
            await asyncio.sleep(1.5)  # the sender picks it up and runs at full pace
            users = [FIRST + n + i for i in range(n)]
            cpu0, t0, th0 = cpu_seconds(proc.pid), time.monotonic(), thread_cpu(proc.pid)
            r = await storm(fake, users, args.spread, args.timeout, questions)
            r["broadcast_rows"] = len(targets)
        cpu = cpu_seconds(proc.pid) - cpu0
        th1 = thread_cpu(proc.pid)
        r["bot_cpu_share"] = round(cpu / (time.monotonic() - t0), 2)
        # CPU per answer (the whole window, broadcast sends included): a figure that does not
        # depend on how busy the machine is; split into the event loop and the other threads
        answered = max(1, r["answered"])
        r["cpu_ms_per_answer"] = round(1000 * cpu / answered, 1)
        r["loop_ms_per_answer"] = round(1000 * (th1[0] - th0[0]) / answered, 1)
        r["threads_ms_per_answer"] = round(1000 * (th1[1] - th0[1]) / answered, 1)
    finally:
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(20)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
    stats = read_json(cfg["stats"])  # written by the child as it stops
    if stats is not None:
        r["budget"] = stats
    return r


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help="write the bot's cProfile statistics to this file")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--broadcast", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=0.7)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--questions", default="real", choices=["real", "eight"])
    parser.add_argument("--scenario", default="all", choices=["storm", "storm+broadcast", "all"])
    a = parser.parse_args()
    if a.profile:
        a.profile = os.path.abspath(a.profile)  # the child runs in the repository
    if a.child:
        asyncio.run(child_main(json.loads(a.child)))
    else:
        asyncio.run(main(a))
