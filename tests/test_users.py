"""The user service, the OPD list and templates, driven directly (no Telegram)."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from bot.accounts.opds import check_opds, load_opds, sync_opds
from bot.accounts.service import UserService
from bot.config import load_settings
from bot.db import Database
from bot.templates import render
from tests.conftest import KNOWLEDGE


@pytest.fixture
async def svc(db_url):
    settings = load_settings(database_url=db_url, admin_ids="7", _env_file=None)
    db = Database(db_url)
    await sync_opds(db, load_opds(KNOWLEDGE))
    yield UserService(db, settings)
    await db.dispose()


async def test_register_is_idempotent_even_concurrently(svc):
    results = await asyncio.gather(*[svc.register(42, 42, "Made", "made", "id") for _ in range(8)])
    assert sum(created for _, created in results) == 1
    assert len({v.id for v, _ in results}) == 1
    view, created = await svc.register(42, 42, "Made Baru", "made2", "en")
    assert not created and view.username == "made2" and view.name == "Made"


async def test_admin_role_and_timezone_fallbacks(svc):
    admin, _ = await svc.register(7, 7, "Admin", None, None)
    staff, _ = await svc.register(8, 8, "Staf", None, None)
    assert svc.is_admin(admin.telegram_id, admin.role) and admin.role == "admin"
    assert not svc.is_admin(staff.telegram_id, staff.role)
    assert staff.timezone == "Asia/Jakarta"  # settings default, no OPD yet
    staff = await svc.set_opd(8, "diskominfo")
    assert staff.timezone == "Asia/Makassar"  # Tabanan OPDs are WITA
    staff = await svc.set_timezone(8, "Asia/Jayapura")
    assert staff.timezone == "Asia/Jayapura"


async def test_opd_other_and_name_are_cleaned_and_bounded(svc):
    await svc.register(9, 9, "X", None, None)
    v = await svc.set_opd_other(9, "   Puskesmas   Kediri  I ")
    assert v.opd_name == "Puskesmas Kediri I" and v.opd_slug is None
    assert await svc.set_opd_other(9, "   ") is None
    assert await svc.set_opd(9, "tidak-ada") is None
    v = await svc.set_name(9, "N" * 500)
    assert len(v.name) == 100


async def test_blocked_users_leave_recipients_and_come_back(svc):
    for uid in (1, 2, 3):
        await svc.register(uid, uid, f"U{uid}", None, None)
    await svc.set_opd(1, "dinkes")
    await svc.set_opd(2, "dinkes")
    await svc.mark_blocked(2)
    assert [c for _, c in await svc.active_recipients()] == [1, 3]
    assert [c for _, c in await svc.active_recipients(["dinkes"])] == [1]
    v = await svc.touch(2)
    assert v.is_active
    assert [c for _, c in await svc.active_recipients(["dinkes"])] == [1, 2]


async def test_pending_dialogue_state(svc):
    await svc.register(5, 5, "P", None, None)
    await svc.set_pending(5, "name", {"k": 1})
    assert (await svc.get(5)).pending_data == {"k": 1}
    assert await svc.pop_pending(5) == ("name", {"k": 1})
    assert await svc.pop_pending(5) == (None, None)


def test_default_opd_list_is_realistic():
    opds = load_opds(KNOWLEDGE)
    kinds = {o.kind for o in opds.opds}
    assert {"dinas", "badan", "kecamatan", "rsud", "bagian"} <= kinds
    assert len([o for o in opds.opds if o.kind == "kecamatan"]) == 10  # Tabanan's 10 kecamatan
    assert check_opds(KNOWLEDGE) == []


def test_opd_list_problems_are_reported(tmp_path):
    (tmp_path / "opd.yaml").write_text(
        yaml.safe_dump({"region": "X", "opds": [{"slug": "Bad Slug", "name": "A"}]})
    )
    problems = check_opds(tmp_path)
    assert len(problems) == 1 and "slug" in problems[0][1]
    (tmp_path / "opd.yaml").write_text("region: [unclosed")
    assert "YAML" in check_opds(tmp_path)[0][1]


def test_templates_escape_user_input():
    out = render("name_saved", name="<b>x</b> & <script>")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;" in out
    assert "<b>&lt;b&gt;" in out  # the template's own markup stays
