"""Thin Telegram handlers: parse the update, call the core, render a template, reply.

One package per feature (accounts, knowledge, feedback, outbox, schedules), one module per
conversation; ``handlers.registry.register_handlers`` registers every handler.
"""
