"""Thin Telegram handlers: parse the update, call the core, render a template, reply."""

from __future__ import annotations

import importlib

from telegram.ext import Application

# Order matters: within one handler group the first matching handler wins, so the catch-alls
# (free-text dialogue routing, unknown commands) come last.
MODULES = [
    "handlers.account",
    # --- feature modules ---
    "handlers.questions",
    "handlers.feedback",
    "handlers.broadcast",
    "handlers.reminders",
    # --- end feature modules ---
    "handlers.dialogue",
    "handlers.fallback",
]


def register_handlers(app: Application) -> None:
    for name in MODULES:
        importlib.import_module(name).register(app)
