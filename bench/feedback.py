"""Feedback survey benchmark: many participants at once, and reports for 1,000 responses.

    .venv/bin/python bench/feedback.py [--participants 500] [--think 0] [--no-rate-limiter]
                                       [--responses 1000] [--database-url URL]

Part 1 runs the real bot (PTB Application, handlers, core, database) polling the fake Bot API.
Every participant opens the deep link, answers the default questionnaire (14 questions: ratings
and the recommendation question with buttons, the "most useful" topic by button or typed, the
suggestion typed or skipped, sometimes a step back), reviews and submits - all participants
concurrently. Afterwards the database is compared with what each participant answered: lost,
wrong and duplicated answers are counted. Reply latency = time from the update being queued at
the fake API to the bot's reply (sendMessage / editMessageText) to that chat arriving there.

By default the application keeps its AIORateLimiter (Telegram's ~30 messages/s overall): with
hundreds of participants answering as fast as possible, latency is then dominated by that
limit (about 17 throttled replies per participant). ``--no-rate-limiter`` measures the bot's
own capacity; ``--think SECONDS`` adds a random pause (0.5x-1.5x) between a participant's
answers; ``--arrival SECONDS`` spreads the participants' first scan of the QR code over that
time (default 0: all at the same instant).

Part 2 fills a session with ``--responses`` submitted responses (bulk inserted) and times the
report: loading, summary numbers, chart PNG, XLSX and CSV (target < 2 s together).

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select  # noqa: E402

from bot.accounts.models import User  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.db import upgrade  # noqa: E402
from bot.db.base import utcnow  # noqa: E402
from bot.fakeapi import FakeTelegram  # noqa: E402
from bot.feedback.models import FeedbackAnswer, FeedbackResponse  # noqa: E402

FIRST_USER = 2_000_000
REPLY_METHODS = ("sendMessage", "editMessageText")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


class Router:
    """Hands every bot reply to the participant whose chat it went to."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.queues: dict[int, asyncio.Queue] = defaultdict(asyncio.Queue)
        self.index = 0
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        while True:
            calls = self.fake.calls
            while self.index < len(calls):
                call = calls[self.index]
                self.index += 1
                if call.method in REPLY_METHODS and isinstance(call.chat_id, int):
                    self.queues[call.chat_id].put_nowait(call)
            await asyncio.sleep(0.002)

    async def next_reply(self, chat_id: int, after: float, needle: str | None = None):
        while True:
            call = await asyncio.wait_for(self.queues[chat_id].get(), timeout=600)
            if call.at < after:
                continue
            text = call.params.get("text") or ""
            if needle is None or needle in text:
                return call


def message_id(call) -> int:
    if call.method == "editMessageText":
        return int(call.params["message_id"])
    return int(call.result["message_id"])


async def participant(
    uid: int,
    code: str,
    questions: list[dict],
    fake: FakeTelegram,
    router: Router,
    rng: random.Random,
    think: float,
    arrival: float,
    latencies: list[float],
    expected: dict[int, dict],
    errors: list[str],
) -> None:
    want: dict[str, tuple] = {}
    total = len(questions)

    async def pause() -> None:
        if think > 0:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))

    async def act(inject, needle: str | None = None):
        t0 = time.monotonic()
        inject()
        call = await router.next_reply(uid, t0, needle)
        latencies.append(call.answered_at - t0 if call.answered_at else call.at - t0)
        return call

    last: list = []  # the bot's latest survey message (its buttons are pressed)

    async def press(data: str):
        call = await act(lambda: fake.press_button(uid, message_id(last[-1]), data))
        last.append(call)

    async def say(text: str, needle: str | None = None):
        call = await act(lambda: fake.send_message(uid, text, first_name=f"Peserta {uid}"), needle)
        last.append(call)

    try:
        if arrival > 0:  # participants scan the QR code over this many seconds
            await asyncio.sleep(rng.uniform(0, arrival))
        await say(f"/start fb_{code}", f"1/{total}")
        i = 0
        stepped_back = False
        while i < total:
            q = questions[i]
            await pause()
            if i == 3 and not stepped_back and rng.random() < 0.2:
                stepped_back = True  # go back once and come forward keeping the answer
                await press(f"fb:b:{code}:3")
                await press(f"fb:n:{code}:2")
                continue
            if q["type"] in ("rating", "nps"):
                v = rng.randint(1, 5) if q["type"] == "rating" else rng.randint(0, 10)
                want[q["key"]] = (v, None)
                await press(f"fb:a:{code}:{i}:{v}")
            elif q["type"] == "single":
                if rng.random() < 0.15:
                    other = f"Materi lain dari {uid}"
                    want[q["key"]] = (None, other)
                    await say(other)
                else:
                    j = rng.randrange(len(q["choices"]))
                    want[q["key"]] = (q["choices"][j]["id"], None)
                    await press(f"fb:a:{code}:{i}:{j}")
            elif q["type"] == "text":
                if rng.random() < 0.3:
                    await press(f"fb:s:{code}:{i}")
                else:
                    text = f"Saran {uid}: " + "lebih banyak praktik " * rng.randint(1, 12)
                    want[q["key"]] = (None, text.strip())
                    await say(text)
            else:
                raise AssertionError(f"unexpected question type {q['type']}")
            i += 1
        await pause()
        await press(f"fb:x:{code}:{total}")
        if "Terima kasih" not in (last[-1].params.get("text") or ""):
            errors.append(f"{uid}: no thank-you after submit")
        expected[uid] = want
    except Exception as exc:  # one broken participant must not hide the figures
        errors.append(f"{uid}: {exc!r}")


async def run_participants(args, settings) -> None:
    from bot.core import Core
    from handlers import app as app_module

    if args.no_rate_limiter:

        class NoLimit(app_module.AIORateLimiter):  # type: ignore[misc,valid-type]
            async def process_request(
                self, callback, args, kwargs, endpoint, data, rate_limit_args
            ):
                return await callback(*args, **kwargs)

        app_module.AIORateLimiter = NoLimit  # bench-only: measure the bot's own capacity

    fake = FakeTelegram()
    await fake.start()
    settings = settings.model_copy(
        update={"telegram_bot_token": fake.token, "telegram_base_url": fake.base_url}
    )
    core = await Core.create(settings, migrate=False)
    app = app_module.build_application(core)
    await app_module.start_app(app)
    router = Router(fake)
    router.task = asyncio.create_task(router.run())
    try:
        sv = await core.feedback.create_session("Bench: pelatihan medsos", place="Bench")
        questions = sv.questions
        rng = random.Random(args.seed)
        latencies: list[float] = []
        expected: dict[int, dict] = {}
        errors: list[str] = []
        users = [FIRST_USER + k for k in range(args.participants)]
        t0 = time.monotonic()
        await asyncio.gather(
            *(
                participant(
                    uid,
                    sv.code,
                    questions,
                    fake,
                    router,
                    random.Random(rng.random()),
                    args.think,
                    args.arrival,
                    latencies,
                    expected,
                    errors,
                )
                for uid in users
            )
        )
        wall = time.monotonic() - t0
        await fake.wait_idle(quiet=0.5, timeout=60)

        # compare the database with what every participant answered
        async with core.db.session() as s:
            rows = (
                await s.execute(
                    select(User.telegram_id, FeedbackResponse.id, FeedbackResponse.status)
                    .join(FeedbackResponse, FeedbackResponse.user_id == User.id)
                    .where(FeedbackResponse.session_id == sv.id)
                )
            ).all()
            answers = (
                await s.execute(
                    select(
                        FeedbackAnswer.response_id,
                        FeedbackAnswer.key,
                        FeedbackAnswer.value,
                        FeedbackAnswer.text,
                    )
                    .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswer.response_id)
                    .where(FeedbackResponse.session_id == sv.id)
                )
            ).all()
        per_user: dict[int, list] = defaultdict(list)
        for tid, rid, status in rows:
            per_user[tid].append((rid, status))
        got: dict[int, dict] = defaultdict(dict)
        for rid, key, value, text in answers:
            got[rid][key] = (value, text)
        duplicated = sum(len(v) - 1 for v in per_user.values() if len(v) > 1)
        lost = wrong = extra = not_submitted = 0
        for uid, want in expected.items():
            resp = per_user.get(uid)
            if not resp:
                lost += len(want)
                continue
            rid, status = resp[0]
            not_submitted += status != "submitted"
            have = got.get(rid, {})
            for key, val in want.items():
                if key not in have:
                    lost += 1
                elif have[key] != val:
                    wrong += 1
            extra += len(set(have) - set(want))
        n_expected = sum(len(v) for v in expected.values())
        calls = [c for c in fake.calls if c.method in REPLY_METHODS]
        failed = [c for c in fake.calls if not c.ok and c.method != "getUpdates"]
        print(
            f"== {args.participants} participants, default questionnaire "
            f"({len(questions)} questions), rate limiter "
            f"{'OFF' if args.no_rate_limiter else 'ON (30/s overall)'}, think {args.think}s, "
            f"arrivals over {args.arrival}s, "
            f"database {'SQLite' if settings.is_sqlite else 'PostgreSQL'}"
        )
        print(f"finished participants: {len(expected)}/{args.participants}; errors: {len(errors)}")
        for e in errors[:5]:
            print("   ", e)
        print(
            f"answers expected {n_expected}: lost {lost}, wrong {wrong}, extra {extra}, "
            f"duplicated responses {duplicated}, not submitted {not_submitted}"
        )
        print(
            f"wall time {wall:.1f} s; bot replies {len(calls)} ({len(calls) / wall:.0f}/s); "
            f"failed API calls {len(failed)}"
        )
        print(
            f"reply latency (n={len(latencies)}): p50 {pct(latencies, 50) * 1000:.0f} ms, "
            f"p95 {pct(latencies, 95) * 1000:.0f} ms, p99 {pct(latencies, 99) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms, mean {statistics.fmean(latencies) * 1000:.0f} ms"
        )
    finally:
        router.task.cancel()
        await app_module.stop_app(app)
        await core.close()
        await fake.stop()


async def run_report(args, settings) -> None:
    from bot.db import Database
    from bot.feedback import report
    from bot.feedback.service import FeedbackService

    db = Database(settings.database_url)
    svc = FeedbackService(db, settings)
    sv = await svc.create_session("Bench: laporan 1.000 respons", place="Bench")
    rng = random.Random(args.seed + 1)
    now = utcnow()
    async with db.session() as s:
        rows = [
            {
                "session_id": sv.id,
                "user_id": None,
                "respondent_hash": f"bench-{k}",
                "status": "submitted",
                "current_index": sv.total,
                "started_at": now,
                "submitted_at": now,
                "updated_at": now,
            }
            for k in range(args.responses)
        ]
        await s.execute(insert(FeedbackResponse), rows)
        ids = (
            await s.scalars(select(FeedbackResponse.id).where(FeedbackResponse.session_id == sv.id))
        ).all()
        answers = []
        for rid in ids:
            for q in sv.questions:
                value, text = None, None
                if q["type"] == "rating":
                    value = rng.choices([1, 2, 3, 4, 5], [1, 2, 5, 9, 7])[0]
                elif q["type"] == "nps":
                    value = rng.randint(3, 10)
                elif q["type"] == "single":
                    value = rng.choice(q["choices"])["id"]
                elif rng.random() < 0.6:
                    text = "Saran: " + "perbanyak praktik langsung dengan akun OPD. " * 3
                if value is None and text is None:
                    continue
                answers.append(
                    {
                        "response_id": rid,
                        "key": q["key"],
                        "value": value,
                        "text": text,
                        "updated_at": now,
                    }
                )
        for k in range(0, len(answers), 2000):
            await s.execute(insert(FeedbackAnswer), answers[k : k + 2000])
    async with db.session() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(FeedbackAnswer)
            .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswer.response_id)
            .where(FeedbackResponse.session_id == sv.id)
        )
    print(f"\n== report for {args.responses} responses ({n} answers in the database)")
    timings = {}
    t = time.perf_counter()
    data = await svc.report_data(sv.code)
    timings["load"] = time.perf_counter() - t
    t = time.perf_counter()
    sm = report.summarize(data)
    timings["summary"] = time.perf_counter() - t
    t = time.perf_counter()
    png = report.chart_png([sm])
    timings["chart PNG"] = time.perf_counter() - t
    t = time.perf_counter()
    xlsx = report.xlsx_bytes(data, sm, tz=settings.tz)
    timings["XLSX"] = time.perf_counter() - t
    t = time.perf_counter()
    csv = report.csv_bytes(data, tz=settings.tz)
    timings["CSV"] = time.perf_counter() - t
    for k, v in timings.items():
        print(f"  {k:<10} {v * 1000:7.0f} ms")
    total = sum(v for k, v in timings.items() if k != "CSV")
    print(
        f"  load+summary+chart+XLSX: {total:.2f} s (target < 2 s); PNG {len(png) // 1024} KB, "
        f"XLSX {len(xlsx) // 1024} KB, CSV {len(csv) // 1024} KB"
    )
    rel = sm.ratings[0]
    print(
        f"  check: submitted {sm.submitted}, {rel.label} mean {rel.mean:.2f} (n={rel.n}), "
        f"NPS {sm.nps[0].score:+.1f} (n={sm.nps[0].n})"
    )
    await db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--participants", type=int, default=500)
    ap.add_argument("--think", type=float, default=0.0, help="mean pause between answers (s)")
    ap.add_argument(
        "--arrival", type=float, default=0.0, help="participants start within this many seconds"
    )
    ap.add_argument(
        "--no-rate-limiter",
        action="store_true",
        help="build the app without AIORateLimiter (the bot's own capacity)",
    )
    ap.add_argument("--responses", type=int, default=1000)
    ap.add_argument(
        "--database-url",
        default=None,
        help="an EMPTY database (default: a new SQLite file in a temp folder)",
    )
    ap.add_argument("--skip-participants", action="store_true")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        settings = load_settings(
            database_url=url, knowledge_dir=REPO / "knowledge", admin_ids="", _env_file=None
        )
        if not args.skip_participants:
            asyncio.run(run_participants(args, settings))
        asyncio.run(run_report(args, settings))


if __name__ == "__main__":
    main()
