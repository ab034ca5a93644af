"""Settings checked the way Telegram's setWebhook checks them: a bad value stops the bot with one
Indonesian line naming the variable, instead of a refusal from Telegram at start-up."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


def _load(**values):
    return load_settings(_env_file=None, **values)


@pytest.mark.parametrize("secret", ["a", "rahasia-panjang_2026", "A" * 256, "abc-DEF_123", "-_-"])
def test_webhook_secret_accepted(secret):
    assert _load(webhook_secret=secret).webhook_secret == secret


def test_empty_webhook_secret_is_unset():
    assert _load(webhook_secret="").webhook_secret is None
    assert _load().webhook_secret is None


@pytest.mark.parametrize(
    "secret",
    ["dengan spasi", "titik.dua", "123456:AAbb", "ümlaut", "a" * 257, "tab\there", "slash/x"],
)
def test_webhook_secret_refused_with_one_line(secret):
    with pytest.raises(ConfigError) as info:
        _load(webhook_secret=secret)
    message = str(info.value)
    assert "WEBHOOK_SECRET" in message
    assert "\n" not in message
    assert secret not in message or len(secret) < 3  # the secret itself is not echoed


@pytest.mark.parametrize(
    "url",
    [
        "https://bot.tabanankab.go.id/telegram",
        "https://bot.tabanankab.go.id:443/telegram",
        "https://bot.tabanankab.go.id:8443/tg",
        "https://bot.tabanankab.go.id:88/",
        "https://bot.tabanankab.go.id:80/x",
        "HTTPS://bot.example.go.id/a?b=c",
    ],
)
def test_webhook_url_accepted(url):
    assert _load(webhook_url=url).webhook_url == url


def test_empty_webhook_url_is_polling():
    assert _load(webhook_url="").webhook_url is None
    assert _load(webhook_url="   ").webhook_url is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://bot.tabanankab.go.id/telegram", "HTTPS"),
        ("bot.tabanankab.go.id/telegram", "HTTPS"),
        ("https://bot.tabanankab.go.id:9000/telegram", "9000"),
        ("https://bot.tabanankab.go.id:8080/telegram", "8080"),
        ("https://bot.tabanankab.go.id:99999/telegram", "port"),
        ("https:///telegram", "host"),
    ],
)
def test_webhook_url_refused_with_one_line(url, words):
    with pytest.raises(ConfigError) as info:
        _load(webhook_url=url)
    message = str(info.value)
    assert message.startswith("Konfigurasi WEBHOOK_URL tidak valid: ")
    assert words in message
    assert "\n" not in message


def test_cli_prints_one_line_for_a_bad_webhook_url(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEBHOOK_URL", "http://bot.example.go.id:9000/tg")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "WEBHOOK_URL" in lines[0]
