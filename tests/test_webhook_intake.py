"""Webhook intake (issue 9, issue 13 point 1): acknowledged only once stored, redeliveries
ignored, a body limit, garbage acknowledged (never a 5xx), 503 while the database is down, a
secret always (generated and kept in the database when WEBHOOK_SECRET is unset), /healthz."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
from sqlalchemy import func, select

from bot.core import Core
from bot.db.outage import DatabaseOutage
from bot.inbox.models import InboxUpdate, RuntimeSecret
from handlers.app import build_application
from handlers.runner import run_bot
from handlers.webhook import make_starlette
from tests.conftest import make_settings

URL = "https://bot.example.go.id:8443/telegram"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _update(update_id: int, user: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": "Ayu"},
            "from": {"id": user, "is_bot": False, "first_name": "Ayu"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def _stored(core_db_url: str, update_ids: list[int]) -> int:
    from bot.db import Database

    db = Database(core_db_url)
    try:
        async with db.session() as s:
            return await s.scalar(select(func.count()).where(InboxUpdate.update_id.in_(update_ids)))
    finally:
        await db.dispose()


async def test_webhook_without_secret_generates_one_and_guards_the_intake(fake, db_url):
    port = _free_port()
    local = f"http://127.0.0.1:{port}/telegram"
    fake.route_webhook(f"http://127.0.0.1:{port}")
    settings = make_settings(
        fake, db_url, webhook_url=URL, webhook_listen="127.0.0.1", webhook_port=port
    )
    assert settings.webhook_secret is None
    task = asyncio.create_task(run_bot(settings))
    try:
        for _ in range(600):
            if fake.webhook_url == URL:
                break
            await asyncio.sleep(0.05)
        assert fake.webhook_url == URL
        secret = fake.webhook_secret
        assert secret and len(secret) >= 32
        from bot.db import Database

        db = Database(db_url)
        async with db.session() as s:
            assert await s.scalar(select(RuntimeSecret.value)) == secret
        await db.dispose()
        ok = {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with httpx.AsyncClient(timeout=10) as client:
            # no secret, or a wrong one: refused (a forged admin update is never processed)
            forged = _update(9000, 1000, "/siaran")
            assert (await client.post(local, json=forged)).status_code == 403
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "x" * 43}
            assert (await client.post(local, json=forged, headers=wrong)).status_code == 403
            # not an Update: acknowledged (Telegram would retry a 5xx for ever), not stored
            no_date = {"update_id": 9001, "message": {"message_id": 1, "chat": {"id": 5}}}
            for body in ([], {}, {"update_id": 9002}, no_date):
                r = await client.post(local, json=body, headers=ok)
                assert r.status_code == 200, body
            r = await client.post(local, content=b"{not json", headers=ok)
            assert r.status_code == 200
            # over 1 MB: 413 before reading it (declared length, or streamed without one)
            big = b'{"update_id": 9003, "x": "' + b"a" * (1024 * 1024) + b'"}'
            assert (await client.post(local, content=big, headers=ok)).status_code == 413

            async def chunks():
                for _ in range(40):
                    yield b"a" * 65536

            r = await client.post(local, content=chunks(), headers=ok)
            assert r.status_code == 413
            # the same update twice (Telegram redelivers after a timeout): one answer
            mark = fake.mark()
            fake.user(777, "Ayu")
            update = _update(9010, 777, "/privasi")
            for _ in range(2):
                assert (await client.post(local, json=update, headers=ok)).status_code == 200
            reply = await fake.wait_for("sendMessage", chat_id=777, after=mark)
            assert "Pemberitahuan privasi" in reply.params["text"]
            await asyncio.sleep(1.0)
            answers = [c for c in fake.calls[mark:] if c.method == "sendMessage"]
            assert len(answers) == 1
            assert await _stored(db_url, [9000, 9001, 9002, 9003, 9010]) == 1
            health = (await client.get(f"http://127.0.0.1:{port}/healthz")).json()
            assert health == {
                "ok": True,
                "database": True,
                "leader": True,
                "bot": "opdbot_test_bot",
            }
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_webhook_answers_503_while_the_database_is_down(fake, db_url):
    settings = make_settings(fake, db_url, webhook_url=URL, webhook_secret="rahasia")
    core = await Core.create(settings, migrate=False)
    app = build_application(core)
    outage = DatabaseOutage(core.db)
    web = make_starlette(app, settings, "rahasia")
    headers = {"X-Telegram-Bot-Api-Secret-Token": "rahasia"}
    transport = httpx.ASGITransport(app=web)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            await outage.begin()
            r = await client.post("/telegram", json=_update(50, 5, "/bantuan"), headers=headers)
            assert r.status_code == 503  # Telegram sends it again later
            outage.end()
            r = await client.post("/telegram", json=_update(50, 5, "/bantuan"), headers=headers)
            assert r.status_code == 200
        async with core.db.session() as s:
            rows = (await s.scalars(select(InboxUpdate))).all()
        assert [(r.update_id, r.status) for r in rows] == [(50, "pending")]
        assert json.loads(rows[0].payload)["message"]["text"] == "/bantuan"
    finally:
        outage.remove()
        await core.close()
