"""Crash tests (issue 13): the real ``opdbot run`` killed or frozen at the dangerous moments.

- A burst of messages, SIGKILL once Telegram's side considers every update delivered (polling:
  handed over by getUpdates; webhook: answered 200) with answers still being sent; restart:
  every message is answered, and the only ones answered twice were not yet marked done at the
  kill (in flight). Polling and webhook, on the suite's database (SQLite, or PostgreSQL with
  TEST_DATABASE_URL).
- PostgreSQL only: two webhook processes, the leader frozen (SIGSTOP) longer than its lease:
  the standby takes over the sender within ~15 s, a broadcast queued during the freeze is
  delivered once, and the old leader, resumed, sends nothing.
"""

from __future__ import annotations

import pytest

from tests.conftest import PG_URL
from tests.crash_helpers import burst_and_kill, freeze_leader


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_sigkill_after_acknowledging_a_burst_loses_nothing(fake, db_url, tmp_path, webhook):
    r = await burst_and_kill(fake, db_url, tmp_path, webhook=webhook, n=30)
    assert r.lost == [], f"never answered: {r.lost}"
    assert r.dup_not_in_flight == [], f"answered twice though done before the kill: {r}"
    assert r.answered_at_kill < r.sent  # the kill really came mid-way
    assert len(r.duplicated) <= len(r.not_done_at_kill)


@pytest.mark.skipif(not PG_URL, reason="several processes need PostgreSQL (TEST_DATABASE_URL)")
async def test_a_frozen_leader_is_replaced_and_fenced(fake, db_url, tmp_path):
    r = await freeze_leader(fake, db_url, tmp_path)
    assert r.error is None, r.error
    assert r.takeover_seconds is not None and r.takeover_seconds < 20, r
    assert r.answered_during_freeze
    assert set(r.broadcast_sent.values()) == {1}, r  # delivered, once each
    assert r.old_leader_leads_after_resume is False
