"""``python -m bot.healthcheck`` (the container's HEALTHCHECK): polling mode is healthy while the
process runs; webhook mode asks the webhook server's /healthz."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from bot import healthcheck


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    status = {"code": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            code = status["code"] if self.path == "/healthz" else 404
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], status
    finally:
        httpd.shutdown()


def test_polling_mode_is_healthy(monkeypatch):
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    assert healthcheck.main() == 0


def test_webhook_mode_asks_healthz(monkeypatch, server):
    port, status = server
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.go.id/telegram")
    monkeypatch.setenv("WEBHOOK_PORT", str(port))
    assert healthcheck.main() == 0
    status["code"] = 503
    assert healthcheck.main() == 1


def test_webhook_mode_without_a_server_is_unhealthy(monkeypatch, capsys):
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.go.id/telegram")
    monkeypatch.setenv("WEBHOOK_PORT", str(_closed_port()))
    assert healthcheck.main() == 1
    assert "tidak menjawab" in capsys.readouterr().err
