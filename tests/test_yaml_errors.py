"""PyYAML's messages are explained in Indonesian, with the line and column."""

from __future__ import annotations

import pytest
import yaml

from bot.yaml_id import explain

CASES = [
    ("title: Tips: aman di medsos\n", "titik dua"),
    ("id: a\n\ttags: [x]\n", "tab"),
    ('title: "belum ditutup\nid: a\n', "tanda kutip tidak ditutup"),
    ("tags: [a, b\nid: x\n", "tidak ditutup"),
    ("questions:\n  - satu\n - dua\n", "indentasi"),
    ("title: @akun_resmi\n", "karakter khusus"),
    ("title: *bintang\n", "tanda kutip"),
]
ENGLISH = ["mapping values", "could not find", "while scanning", "found character", "expected"]


@pytest.mark.parametrize(("text", "needle"), CASES)
def test_explained(text, needle):
    with pytest.raises(yaml.YAMLError) as info:
        yaml.safe_load(text)
    message = explain(info.value)
    assert message.startswith("YAML tidak valid di baris "), message
    assert needle in message, message
    assert not any(w in message for w in ENGLISH), message


def test_front_matter_line_offset():
    with pytest.raises(yaml.YAMLError) as info:
        yaml.safe_load("id: a\ntitle: Tips: aman\n")
    assert "baris 3," in explain(info.value, line_offset=1)
