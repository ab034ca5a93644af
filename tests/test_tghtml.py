"""Telegram HTML: validation wording, parsing, plain rendering, length and splitting."""

import re

import pytest

from bot.tghtml import (
    ALLOWED_TAGS,
    HtmlError,
    html_to_plain,
    parse_html,
    split_message,
    validate_html,
    visible_length,
)

P = "Bad Request: can't parse entities: "


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "",
        "<b>bold</b> <strong>strong</strong> <i>i</i> <em>em</em> <u>u</u> <ins>ins</ins>",
        "<s>s</s> <strike>strike</strike> <del>del</del> <tg-spoiler>spoiler</tg-spoiler>",
        '<span class="tg-spoiler">spoiler</span>',
        '<a href="https://tabanankab.go.id/?a=1&amp;b=2">Tabanan</a>',
        "<code>/start</code> <pre>blok</pre>",
        '<pre><code class="language-python">print("x")</code></pre>',
        "<blockquote>kutipan</blockquote> <blockquote expandable>panjang</blockquote>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "<B>upper case tag</B>",
        "<b><i>nested</i> <u>deep <s>er</s></u></b>",
        "&lt;script&gt; &amp; &quot;kutip&quot; &#65; &#x41; &#128512;",
        "R&D, Tom & Jerry, &nbsp without semicolon, AT&T",
        "<b>x</>",
        "<b >spasi</b >",
    ],
)
def test_valid_html(text):
    assert validate_html(text) is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Halo <script>", 'Unsupported start tag "script" at byte offset 5'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ("<b>tebal", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<i>x</b>", 'Unmatched end tag at byte offset 4, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<a href>y</a", "Unclosed end tag at byte offset 9"),
        ('<a href="x"', "Unclosed start tag at byte offset 0"),
        ('<a ="x">y</a>', 'Empty attribute name in the tag "a" at byte offset 0'),
        ("<a href=x/>y</a>", "Unexpected end of name token at byte offset 8"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="abc">y</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("&foo; bar", 'Unsupported HTML entity "&foo;" at byte offset 0'),
        ("x &nbsp;", 'Unsupported HTML entity "&nbsp;" at byte offset 2'),
        ("nul\0", "Text must not contain null bytes"),
        # byte offsets count UTF-8 bytes, not characters
        ("é <x>", 'Unsupported start tag "x" at byte offset 3'),
        ("👍<b>", 'Can\'t find end tag corresponding to start tag "b"'),
        ("👍</b>", "Unexpected end tag at byte offset 4"),
    ],
)
def test_invalid_html_has_telegram_wording(text, error):
    assert validate_html(text) == P + error
    with pytest.raises(HtmlError) as info:
        parse_html(text)
    assert info.value.description == P + error


def test_escaped_user_input_always_validates():
    hostile = '<b>Budi</b> & <script>alert("x")</script> &amp; &foo; <'
    escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert validate_html(hostile) is not None
    assert validate_html(escaped) is None
    assert parse_html(escaped)[0] == hostile
    assert html_to_plain(escaped) == hostile


def test_allowed_tags_set():
    assert {"b", "i", "a", "code", "pre", "blockquote", "tg-spoiler", "tg-emoji"} <= ALLOWED_TAGS
    assert "script" not in ALLOWED_TAGS and "br" not in ALLOWED_TAGS and "p" not in ALLOWED_TAGS


def test_entities_decode():
    text, entities = parse_html("&lt;&gt;&amp;&quot;&#65;&#x42;&#128512;&amp")
    assert text == '<>&"AB😀&'
    assert entities == []


def test_parse_html_entities_use_utf16_offsets():
    text, entities = parse_html('😀 <b>tebal <i>miring</i></b> <a href="https://x.id">tautan</a>')
    assert text == "😀 tebal miring tautan"
    assert entities == [
        {"offset": 3, "length": 12, "type": "bold"},
        {"offset": 9, "length": 6, "type": "italic"},
        {"offset": 16, "length": 6, "type": "text_link", "url": "https://x.id"},
    ]
    _, pre = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert pre == [{"offset": 0, "length": 5, "type": "pre", "language": "python"}]


def test_html_to_plain():
    html = (
        "<b>Halo, Budi</b>\n"
        "Silakan <i>pilih</i> OPD Anda: <code>/profil</code>\n"
        '<a href="https://tabanankab.go.id">Situs Pemkab</a> &amp; '
        '<a href="https://x.id">https://x.id</a>\n'
        "<blockquote>baris satu\nbaris dua</blockquote>"
    )
    assert html_to_plain(html) == (
        "*Halo, Budi*\n"
        "Silakan _pilih_ OPD Anda: `/profil`\n"
        "Situs Pemkab (https://tabanankab.go.id) & https://x.id\n"
        "> baris satu\n> baris dua"
    )
    assert html_to_plain("<b>Judul </b>isi") == "*Judul* isi"
    # lenient with text Telegram would reject
    assert html_to_plain("<p>para &amp; <b>x") == "para & x"


def test_visible_length_counts_utf16_after_parsing():
    assert visible_length("<b>abc</b>") == 3
    assert visible_length("&lt;b&gt;") == 3
    assert visible_length("😀") == 2
    assert visible_length('<a href="https://very.long/url">x</a>') == 1
    with pytest.raises(ValueError):
        visible_length("<b>unclosed")


def _long_text() -> str:
    paragraphs = []
    n = 0
    while sum(len(p) for p in paragraphs) < 10_000:
        n += 1
        paragraphs.append(
            f"<b>Bagian {n}</b>: kalimat panjang tentang komunikasi digital &amp; "
            f'<a href="https://tabanankab.go.id/p/{n}">tautan {n}</a> serta <i>catatan</i> '
            "yang cukup panjang untuk mengisi pesan. " * 3
        )
    # one bold run and one link that are far longer than a message: cuts must fall inside them
    paragraphs.insert(3, "<b>" + "tebal sekali " * 500 + "</b>")
    paragraphs.insert(6, '<a href="https://x.id/panjang">' + "tautan panjang " * 400 + "</a>")
    return "\n\n".join(paragraphs)


def test_split_long_text_every_part_validates_and_concatenates_back():
    text = _long_text()
    total = visible_length(text)
    assert total > 10_000
    parts = split_message(text)
    assert len(parts) >= 3
    for part in parts:
        assert validate_html(part) is None
        assert 0 < visible_length(part) <= 4096
    assert "".join(parse_html(p)[0] for p in parts) == parse_html(text)[0]
    # tags open at a cut are closed and re-opened with their attributes
    assert any(p.endswith("</b>") and not p.rstrip().endswith("tebal sekali</b>") for p in parts)
    reopened = [p for p in parts if p.startswith('<a href="https://x.id/panjang">')]
    assert reopened, "the long link must continue in the next part with its href"


def test_split_prefers_paragraph_then_line_then_word():
    para = "kata " * 150  # 750 chars
    text = para.strip() + "\n\n" + para.strip() + "\n" + para.strip()
    parts = split_message(text, limit=1000)
    assert parts[0] == para.strip() + "\n\n"
    lines = "baris pendek\n" * 100
    parts = split_message(lines, limit=300)
    assert all(p.endswith("\n") for p in parts)
    words = "kata " * 100
    parts = split_message(words, limit=52)
    assert all(len(p) <= 52 and p.endswith(" ") for p in parts[:-1])
    assert "".join(parts) == words


def test_split_never_cuts_an_entity_or_a_surrogate_pair():
    text = "&amp;" * 30 + "😀" * 30
    parts = split_message(text, limit=7)
    for part in parts:
        assert validate_html(part) is None
        assert visible_length(part) <= 7
        assert not re.search(r"&(?!amp;)", part)
    assert "".join(parse_html(p)[0] for p in parts) == "&" * 30 + "😀" * 30


def test_split_short_text_is_unchanged_and_bad_html_raises():
    assert split_message("<b>pendek</b>") == ["<b>pendek</b>"]
    with pytest.raises(HtmlError):
        split_message("<b>" + "x" * 5000)
    with pytest.raises(ValueError):
        split_message("abc", limit=1)
