"""The printable QR code of a session (Pillow, qrcode; fonts from matplotlib when present)."""

from __future__ import annotations

import io
from pathlib import Path


def qr_png(url: str, title: str, code: str) -> bytes:
    """A printable PNG: the title on top, the QR code of ``url``, the code and link below."""
    import qrcode
    from PIL import Image, ImageDraw, ImageFont

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=16, border=2)
    qr.add_data(url)
    qr.make(fit=True)
    qr_img = qr.make_image(fill_color="black", back_color="white").convert("RGB")

    def font(size: int, bold: bool = False):
        try:
            import matplotlib

            name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
            path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
            return ImageFont.truetype(str(path), size)
        except (OSError, ImportError):
            return ImageFont.load_default(size=size)

    width = max(qr_img.width, 900)
    title_font, code_font, small_font = font(40, True), font(56, True), font(26)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines = _wrap(probe, title, title_font, width - 80)
    line_h = 52
    top = 40 + line_h * len(lines) + 20
    height = top + qr_img.height + 235
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    y = 40
    for line in lines:
        w = draw.textlength(line, font=title_font)
        draw.text(((width - w) / 2, y), line, fill="black", font=title_font)
        y += line_h
    img.paste(qr_img, ((width - qr_img.width) // 2, top))
    y = top + qr_img.height + 20
    label = f"Kode: {code}"
    w = draw.textlength(label, font=code_font)
    draw.text(((width - w) / 2, y), label, fill="black", font=code_font)
    y += 80
    w = draw.textlength(url, font=small_font)
    draw.text(((width - w) / 2, y), url, fill="#333333", font=small_font)
    y += 45  # no camera (Telegram Desktop in the room): the code can be typed
    hint = f"atau ketik di bot: /umpanbalik {code}"
    w = draw.textlength(hint, font=small_font)
    draw.text(((width - w) / 2, y), hint, fill="#333333", font=small_font)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _greedy(measure, words: list[str], max_width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if measure(candidate) <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def wrap_balanced(measure, text: str, max_width: float, max_lines: int = 4) -> list[str]:
    """Title lines of about equal width (no orphan word alone on the last line): the
    narrowest width that still needs no more lines than the greedy wrap."""
    words = text.split()
    if not words:
        return [""]
    lines = _greedy(measure, words, max_width)
    if len(lines) > 1:
        lo, hi = max(measure(w) for w in words), max_width
        for _ in range(20):
            mid = (lo + hi) / 2
            if len(_greedy(measure, words, mid)) <= len(lines):
                hi = mid
            else:
                lo = mid
        lines = _greedy(measure, words, hi)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" ,.;:") + "…"
    return lines


def _wrap(draw, text: str, font, max_width: float) -> list[str]:
    return wrap_balanced(lambda t: draw.textlength(t, font=font), text, max_width)
