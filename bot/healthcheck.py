"""``python -m bot.healthcheck``: the container's HEALTHCHECK (standard library only, fast).

Webhook mode (``WEBHOOK_URL`` set): healthy when the webhook server answers ``GET /healthz``
with 200 on ``127.0.0.1:WEBHOOK_PORT``. Polling mode has no port: healthy while the process runs.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    if not (os.environ.get("WEBHOOK_URL") or "").strip():
        return 0
    port = (os.environ.get("WEBHOOK_PORT") or "8080").strip()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as resp:
            ok = resp.status == 200
    except (OSError, urllib.error.URLError) as exc:
        print(f"webhook tidak menjawab di port {port}: {exc}", file=sys.stderr)
        return 1
    if not ok:
        print(f"/healthz menjawab {resp.status}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
