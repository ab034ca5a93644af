"""Webhook mode: `opdbot run` with WEBHOOK_URL serves Telegram's POSTs (secret checked)."""

from __future__ import annotations

import asyncio
import socket

import httpx

from handlers.runner import run_bot
from tests.conftest import make_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode_end_to_end(fake, db_url):
    port = _free_port()
    url = "https://bot.example.go.id:8443/telegram"
    local = f"http://127.0.0.1:{port}/telegram"
    fake.route_webhook(f"http://127.0.0.1:{port}")  # the reverse proxy terminating HTTPS
    settings = make_settings(
        fake,
        db_url,
        webhook_url=url,
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret="rahasia-panjang",
    )
    task = asyncio.create_task(run_bot(settings))
    try:
        for _ in range(200):
            if fake.webhook_url == url:
                break
            await asyncio.sleep(0.05)
        assert fake.webhook_url == url
        mark = fake.mark()
        fake.send_message(777, "/privasi")
        reply = await fake.wait_for("sendMessage", chat_id=777, after=mark)
        assert "Pemberitahuan privasi" in reply.params["text"]
        async with httpx.AsyncClient() as client:
            bad = await client.post(local, json={"update_id": 1}, headers={})
            assert bad.status_code == 403
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
            assert health.json()["ok"] is True
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
