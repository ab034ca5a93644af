"""/hapusdata removes every personal text /privasi says it removes, and keeps the rest exactly
as /privasi says (anonymous). Checked by scanning every column of every table in the database
for a unique marker and for the user's Telegram id after the user pressed "Ya, hapus".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import String, cast, func, inspect, or_, select, table, text
from sqlalchemy import column as sa_column

from bot.knowledge.models import QuestionLog
from bot.schedules.parse import parse_schedule
from tests.conftest import Harness, buttons_of, make_settings
from tests.test_feedback import fill

USER = 777_000_111
GONE = "zqxgonemarker"  # must vanish from every table
KEPT = "zqxkeptmarker"  # kept only where /privasi says: anonymous questions and survey scores
HELPDESK = -100_555


async def _scan(db, needle: str, number: int | None = None) -> list[tuple[str, str]]:
    """(table, column) of every cell that contains ``needle`` (case-insensitive) or equals
    ``number``, over every table and column the database really has."""

    def shape(sync_conn):
        insp = inspect(sync_conn)
        return {
            t: [(c["name"], str(c["type"]).upper()) for c in insp.get_columns(t)]
            for t in insp.get_table_names()
        }

    async with db.engine.connect() as conn:
        tables = await conn.run_sync(shape)
        hits = []
        for tname, cols in tables.items():
            t = table(tname, *[sa_column(c) for c, _ in cols])
            for cname, ctype in cols:
                col = t.c[cname]
                conds = [func.lower(cast(col, String)).like(f"%{needle.lower()}%")]
                if number is not None and any(k in ctype for k in ("INT", "NUMERIC")):
                    conds.append(col == number)
                n = await conn.scalar(select(func.count()).select_from(t).where(or_(*conds)))
                if n:
                    hits.append((tname, cname))
        return hits


async def test_hapusdata_leaves_no_trace_of_personal_texts(fake, db_url):
    fake.user(USER, f"Nama {GONE}", username=f"u{GONE}"[:30])
    h = Harness(fake, make_settings(fake, db_url, helpdesk_chat_id=HELPDESK))
    fake.add_chat(HELPDESK, "supergroup", "Helpdesk")
    await h.start()
    try:
        core = h.core
        await h.say(USER, "/start")
        await fake.wait_idle()
        user = await core.users.get(USER)
        await core.users.set_opd_other(USER, f"Dinas {GONE}")
        user = await core.users.get(USER)

        # a reminder, fired and sent: its body is in outbox_messages
        parsed = parse_schedule("besok jam 09.00", datetime.now(UTC).astimezone(user.tz))
        view, problem = await core.schedules.add_reminder(
            user.id, f"Unggah {GONE} ke Instagram", parsed, user.timezone
        )
        assert problem is None
        assert await core.schedules.fire_reminder(view.id, view.next_at + timedelta(minutes=1))
        await fake.wait_for(  # the running sender delivers it
            "sendMessage", chat_id=USER, predicate=lambda c: GONE in c.params.get("text", "")
        )
        await core.schedules.add_reminder(user.id, f"Rapat {GONE}", parsed, user.timezone)

        # a question kept anonymously (rated, with a comment that must go)
        asked = await core.qa.ask(user, f"bagaimana cara membuat konten {KEPT}")
        assert await core.qa.vote(asked.log_id, user, -1)
        assert await core.qa.vote_comment(asked.log_id, user, f"kurang jelas {GONE}")
        # a question forwarded to the helpdesk and answered there
        forwarded = await core.qa.ask(user, f"apakah boleh {GONE} di akun dinas")
        ticket = await core.tickets.from_question(forwarded.log_id, user)
        assert ticket is not None
        result, _ = await core.tickets.answer(ticket.id, 4242, "Petugas", f"Jawaban {GONE}")
        await core.tickets.follow_up(ticket.id, user, f"Terima kasih {GONE}")

        # surveys: identified (free text must go) and anonymous (stays, it was never linked)
        named = await core.feedback.create_session("Kelas bernama", template_id="singkat")
        await core.feedback.open_session(named.code)
        anon = await core.feedback.create_session(
            "Kelas anonim", template_id="singkat", anonymous=True
        )
        await core.feedback.open_session(anon.code)
        answers = {"keseluruhan": 4, "penerapan": 5, "rekomendasi": 9, "topik_lanjutan": [0]}
        await fill(core.feedback, named.code, USER, {**answers, "saran": f"Saran {GONE}"})
        await fill(core.feedback, anon.code, USER, {**answers, "saran": f"Saran {KEPT}"})

        before = await _scan(core.db, GONE, USER)
        assert {  # the marker is really stored everywhere before
            ("feedback_answers", "text"),
            ("tickets", "question"),
            ("ticket_messages", "text"),
            ("outbox_messages", "text"),
            ("question_log", "text"),
            ("question_log", "vote_comment"),
            ("schedules", "text"),
            ("users", "name"),
            ("users", "opd_other"),
            ("users", "telegram_id"),
            ("outbox_deliveries", "chat_id"),
        } <= set(before)
        # the user deletes their data through the bot
        confirm = await h.say(USER, "/hapusdata")
        [yes] = [d for _, d in buttons_of(confirm) if d == "del:yes"]
        done = await h.press(USER, confirm.result["message_id"], yes)
        assert "sudah dihapus" in done.params["text"]
        await fake.wait_idle()

        assert await _scan(core.db, GONE, USER) == []
        # kept, as /privasi says: the question (anonymous, no OPD) and the anonymous survey text
        assert sorted(await _scan(core.db, KEPT)) == [
            ("feedback_answers", "text"),
            ("question_log", "normalized"),
            ("question_log", "text"),
        ]
        async with core.db.session() as s:
            q = (await s.scalars(select(QuestionLog))).all()
            assert [(r.user_id, r.opd_id, r.vote, r.vote_comment) for r in q] == [
                (None, None, -1, None)
            ]
            n_answers = await s.scalar(text("SELECT count(*) FROM feedback_answers"))
            assert n_answers >= 8  # the scores of both surveys stay
    finally:
        await h.stop()


async def test_privacy_notice_names_what_hapusdata_removes(harness):
    reply = await harness.say(USER, "/privasi")
    body = reply.params["text"]
    for promised in (
        "pengingat (termasuk yang sudah terkirim)",
        "diteruskan ke Diskominfo beserta jawabannya",
        "komentar penilaian",
        "teks bebas pada survei yang tidak anonim",
        "tanpa identitas",
    ):
        assert promised in body
