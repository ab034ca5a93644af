"""Markdown -> Telegram HTML for knowledge entries."""

from __future__ import annotations

from bot.knowledge.render import entry_message, render_markdown
from bot.tghtml import validate_html, visible_length


def render(md: str) -> str:
    html = render_markdown(md)
    assert validate_html(html) is None, html
    return html


def test_headings_paragraphs_and_inline_formatting() -> None:
    html = render(
        "### Pilih metodenya\nParagraf **tebal**, *miring*, ~~coret~~ dan `kode`.\n\n"
        "Paragraf kedua\nmasih sama."
    )
    assert html == (
        "<b>Pilih metodenya</b>\n"
        "Paragraf <b>tebal</b>, <i>miring</i>, <s>coret</s> dan <code>kode</code>.\n\n"
        "Paragraf kedua masih sama."
    )


def test_lists_bullets_numbers_and_nesting() -> None:
    html = render("- satu\n- dua\n  - anak\n\n3. tiga\n4. empat\n")
    assert html == "• satu\n• dua\n   ◦ anak\n\n3. tiga\n4. empat"


def test_everything_is_escaped_and_raw_html_is_shown_not_obeyed() -> None:
    html = render("Tanda < dan > & <b>mentah</b>\n\n<script>alert(1)</script>")
    assert "&lt;b&gt;mentah&lt;/b&gt;" in html
    assert "&lt;script&gt;" in html
    assert "Tanda &lt; dan &gt; &amp;" in html


def test_links_only_with_safe_schemes() -> None:
    html = render('[Pusat Bantuan](https://help.instagram.com/?a=1&b="2") [x](javascript:alert(1))')
    assert '<a href="https://help.instagram.com/?a=1&amp;b=%222%22">Pusat Bantuan</a>' in html
    assert "javascript" not in html.split("</a>")[0]
    assert '<a href="javascript' not in html


def test_code_blocks_quotes_tables_and_rules() -> None:
    html = render(
        "```python\nif a < b:\n    pass\n```\n\n> kutipan\n> lanjut\n\n"
        "| Format | Ukuran |\n|---|---|\n| Feed | 1080x1350 |\n\n---\n\nakhir"
    )
    assert '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>' in html
    assert "<blockquote>kutipan lanjut</blockquote>" in html
    assert "• <b>Feed</b> — Ukuran: 1080x1350" in html
    assert html.endswith("———\n\nakhir")


def test_entry_message_length_counts_visible_text() -> None:
    msg = entry_message("Judul <rahasia>", render("**isi**"))
    assert msg == "<b>Judul &lt;rahasia&gt;</b>\n\n<b>isi</b>"
    assert visible_length(msg) == len("Judul <rahasia>\n\nisi")
