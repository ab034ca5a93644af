"""Numbers the Indonesian way, the same in chat, the command line and the charts:
thousands with "." and decimals with "," (1.234 orang, rata-rata 4,50, 85%)."""

from __future__ import annotations

from typing import Any


def ribuan(value: Any) -> str:
    """12345 -> '12.345'."""
    try:
        return f"{int(value):,}".replace(",", ".")
    except (TypeError, ValueError):
        return str(value)


def desimal(value: Any, digits: int = 2, *, sign: bool = False) -> str:
    """4.5 -> '4,50'; 1234.5 -> '1.234,50'; ``sign``: '+12,0' / '-3,0'."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{number:{'+' if sign else ''},.{digits}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
