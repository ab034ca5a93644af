"""OPD names as people type them: the list's aliases and kinds, matching, units under a
parent OPD, the deployment's zone, /profil zone, and another regency's list."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.accounts.matching import match_opd
from bot.accounts.opds import check_opds, load_opd_file, load_opds
from tests.conftest import KNOWLEDGE, buttons_of, message_id_of

USER = 777


def _tabanan():
    lst = load_opds(KNOWLEDGE)
    return [(o.slug, o.name, o.aliases) for o in lst.opds], lst.region


@pytest.mark.parametrize(
    "typed,slug",
    [
        ("dinkes", "dinkes"),
        ("Dinas Kesehatan", "dinkes"),
        ("dinas kesehatan kab. tabanan", "dinkes"),
        ("kominfo", "diskominfo"),
        ("DUKCAPIL", "disdukcapil"),
        ("kec. kediri", "kec-kediri"),
        ("humas setda", "bag-prokopim"),
        ("satpol pp", "satpolpp"),
        ("Dinas Pariwisata Tabanan", "dispar"),
        ("bapeda", "bappeda"),
        ("dinas kesehtan", "dinkes"),  # a typo
    ],
)
def test_typed_names_match_the_listed_opd_first(typed, slug):
    opds, region = _tabanan()
    found = match_opd(typed, opds, region=region)
    assert found and found[0].slug == slug


@pytest.mark.parametrize("typed", ["UPTD Puskesmas Kediri I", "harga cabai", "SDN 1 Kediri"])
def test_names_not_in_the_list_match_nothing_sure(typed):
    opds, region = _tabanan()
    found = match_opd(typed, opds, region=region)
    assert not found or not found[0].exact


def _write(tmp_path: Path, opds: list[dict]) -> Path:
    (tmp_path / "opd.yaml").write_text(
        yaml.safe_dump({"region": "Kabupaten Contoh", "timezone": "Asia/Jakarta", "opds": opds})
    )
    return tmp_path


def test_list_problems_are_reported(tmp_path):
    base = [{"slug": "dinkes", "name": "Dinas Kesehatan", "kind": "dinas"}]
    cases = {
        "kind": [{"slug": "x", "name": "X", "kind": "kantor"}],
        "parent": [*base, {"slug": "pkm-a", "name": "Puskesmas A", "parent": "tidak-ada"}],
        "dipakai": [*base, {"slug": "dikes", "name": "Dikes", "aliases": ["dinas kesehatan"]}],
        "slug": [{"slug": "s" * 60, "name": "Terlalu panjang"}],
    }
    for word, opds in cases.items():
        root = tmp_path / word
        root.mkdir()
        (problem,) = check_opds(_write(root, opds))
        assert word in problem[1], (word, problem)


def test_tapanuli_selatan_example_list_is_valid():
    lst = load_opd_file(KNOWLEDGE / "opd-examples" / "tapanuli-selatan.yaml")
    assert lst.timezone == "Asia/Jakarta" and lst.region == "Kabupaten Tapanuli Selatan"
    kec = [o for o in lst.opds if o.kind == "kecamatan"]
    assert len(kec) == 15
    assert {o.slug: o.parent for o in lst.opds}["rsud-sipirok"] == "dinkes"
    assert not check_opds(KNOWLEDGE)


async def _start(h):
    mark = h.fake.mark()
    h.fake.send_message(USER, "/start", first_name="Ketut")
    q = await h.fake.wait_for(
        "sendMessage", chat_id=USER, after=mark, predicate=lambda c: "OPD mana" in c.params["text"]
    )
    await h.fake.wait_idle()
    return q


async def test_typing_an_alias_on_the_picker_offers_the_opd(harness):
    h = harness
    await _start(h)
    offer = await h.say(USER, "dinkes")
    assert ("✅ Ya, Dinas Kesehatan", "opd:s:dinkes") in buttons_of(offer)
    saved = await h.press(USER, message_id_of(offer), "opd:s:dinkes", method="editMessageText")
    assert "Dinas Kesehatan" in saved.params["text"] and "WITA" in saved.params["text"]
    user = await h.core.users.get(USER)
    assert user.opd_slug == "dinkes" and user.pending is None
    # the next text is a question again
    ans = await h.say(USER, "cara pasang 2fa di instagram")
    assert "2FA" in ans.params["text"] or "dua langkah" in ans.params["text"].lower()


async def test_a_unit_is_kept_under_its_parent_and_reached_by_its_broadcasts(harness):
    h = harness
    q = await _start(h)
    await h.press(USER, message_id_of(q), "opd:o", method="editMessageText")
    offer = await h.say(USER, "UPTD Puskesmas Kediri I")
    assert "belum ada di daftar" in offer.params["text"]
    parents = await h.press(USER, message_id_of(offer), "opd:u", method="editMessageText")
    assert "UPTD Puskesmas Kediri I" in parents.params["text"]
    assert ("Dinas Kesehatan", "opd:ps:dinkes") in buttons_of(parents) or any(
        d.startswith("opd:pp:") for _, d in buttons_of(parents)
    )
    saved = await h.press(USER, message_id_of(parents), "opd:ps:dinkes", method="editMessageText")
    assert "UPTD Puskesmas Kediri I (Dinas Kesehatan)" in saved.params["text"]
    user = await h.core.users.get(USER)
    assert user.opd_slug == "dinkes" and user.timezone == "Asia/Makassar"
    recipients = await h.core.outbox.audience(["dinkes"])
    assert USER in [r.chat_id for r in recipients]
    # an old button of the finished dialogue changes nothing
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(saved), "opd:ps:dinsos")
    await h.fake.wait_for("answerCallbackQuery", after=mark)
    assert (await h.core.users.get(USER)).opd_slug == "dinkes"


async def test_a_question_typed_on_the_picker_is_answered(harness):
    h = harness
    await _start(h)
    ans = await h.say(USER, "gimana cara bikin caption yang menarik untuk instagram dinas?")
    assert "caption" in ans.params["text"].lower()
    assert (await h.core.users.get(USER)).pending is None
    await _start(h)
    refused = await h.say(USER, "harga cabai hari ini berapa")
    assert "belum punya jawaban" in refused.params["text"]


async def test_users_without_an_opd_get_the_deployment_zone_and_can_choose_another(harness):
    h = harness
    await _start(h)
    user = await h.core.users.get(USER)
    assert user.timezone == "Asia/Makassar"  # Tabanan's list says WITA (TIMEZONE is WIB)
    prof = await h.say(USER, "/profil")
    ask = await h.press(USER, message_id_of(prof), "prof:tz", method="editMessageText")
    assert ("WIT", "prof:tz:wit") in buttons_of(ask)
    done = await h.press(USER, message_id_of(ask), "prof:tz:wit", method="editMessageText")
    assert "WIT" in done.params["text"]
    assert (await h.core.users.get(USER)).timezone == "Asia/Jayapura"
    await h.press(USER, message_id_of(prof), "prof:tz", method="editMessageText")
    back = await h.press(USER, message_id_of(prof), "prof:tz:auto", method="editMessageText")
    assert "WITA" in back.params["text"]


async def test_siaran_audience_takes_a_whole_kind_in_one_tap(harness):
    from tests.conftest import ADMIN_ID
    from tests.outbox_helpers import add_users

    h = harness
    h.fake.user(ADMIN_ID, "Dewi")
    await h.core.users.register(ADMIN_ID, ADMIN_ID, "Dewi")
    for i, slug in enumerate(["kec-kediri", "kec-marga", "dinkes"]):
        for _, chat in await add_users(h.core.db, 2, start=8100 + 10 * i, opd=slug):
            h.fake.user(chat)
    await h.say(ADMIN_ID, "/siaran")
    audience = await h.say(ADMIN_ID, "Rapat camat Jumat pagi")
    mid = int(next(d for _, d in buttons_of(audience) if d.startswith("bc:all:")).split(":")[2])
    page = await h.press(
        ADMIN_ID, message_id_of(audience), f"bc:opd:{mid}:0", method="editMessageText"
    )
    kec = next(d for t, d in buttons_of(page) if t == "⬜ Semua kecamatan")
    picked = await h.press(ADMIN_ID, message_id_of(page), kec, method="editMessageText")
    assert ("☑️ Semua kecamatan", kec) in buttons_of(picked)
    assert "<b>4</b> orang" in picked.params["text"]
    p = await h.core.outbox.get(mid)
    assert set(p.audience_opds) == {
        o.slug for o in await h.core.users.list_opds() if o.kind == "kecamatan"
    }
    again = await h.press(ADMIN_ID, message_id_of(picked), kec, method="editMessageText")
    assert ("⬜ Semua kecamatan", kec) in buttons_of(again)
    assert (await h.core.outbox.get(mid)).audience_opds == []
    await h.core.users.set_pending(ADMIN_ID, None)


async def test_changing_the_opd_from_profil_has_no_onboarding_hint(harness):
    h = harness
    q = await _start(h)
    first = await h.press(USER, message_id_of(q), "opd:s:dinkes", method="editMessageText")
    assert "Sekarang coba tanyakan" in first.params["text"]
    prof = await h.say(USER, "/profil")
    data = next(d for t, d in buttons_of(prof) if d.startswith("prof:opd"))
    picker = await h.press(USER, message_id_of(prof), data, method="editMessageText")
    slug_button = next(d for t, d in buttons_of(picker) if d == "opd:s:setwan")
    saved = await h.press(USER, message_id_of(picker), slug_button, method="editMessageText")
    assert "Sekretariat DPRD" in saved.params["text"]
    assert "Sekarang coba tanyakan" not in saved.params["text"]
