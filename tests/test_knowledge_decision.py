"""The ranking blend and the learned answer decision (model maths, training, shipped model)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge.blend import Signals, blended, features, rank
from bot.knowledge.decision import (
    LEXICAL_FEATURES,
    MODEL_FILE,
    SEMANTIC_FEATURES,
    Decision,
    Model,
    load_decision,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import train_decision  # noqa: E402

BLEND = {"lex": 0.4, "cos": 0.2, "cos_p": 0.4}


def _sig(lex, cos_q=None, cos_p=None, n_terms=4) -> Signals:
    lex = np.asarray(lex, dtype=float)
    return Signals(
        n_docs=lex.size,
        n_terms=n_terms,
        unknown=0.0,
        off_domain=False,
        lex=lex,
        scores=None,
        cos_q=None if cos_q is None else np.asarray(cos_q, dtype=np.float32),
        cos_p=None if cos_p is None else np.asarray(cos_p, dtype=np.float32),
    )


def test_blend_weighs_lexical_and_semantic_evidence() -> None:
    # entry 0 wins on words, entry 1 on meaning
    sig = _sig([0.8, 0.3, 0.0], cos_q=[0.80, 0.95, 0.70], cos_p=[0.80, 0.92, 0.70])
    assert rank(sig, {"lex": 1.0, "cos": 0.0, "cos_p": 0.0}, 0.75, 3)[0][0] == 0
    assert rank(sig, {"lex": 0.0, "cos": 0.5, "cos_p": 0.5}, 0.75, 3)[0][0] == 1
    order, score = rank(sig, BLEND, 0.75, 3)
    # 0.4*0.8 + 0.2*0.2 + 0.4*0.2 = 0.44 against 0.4*0.3 + 0.2*0.8 + 0.4*0.68 = 0.552
    assert order == [1, 0]  # entry 2 scores 0 (no word, cosines under the floor): not a hit
    assert score[0] == pytest.approx(0.44, abs=1e-6)
    assert score[1] == pytest.approx(0.552, abs=1e-6)


def test_without_embedding_the_ranking_is_lexical() -> None:
    sig = _sig([0.2, 0.6, 0.4])
    order, score = rank(sig, BLEND, 0.75, 2)
    assert order == [1, 2]
    assert np.array_equal(blended(sig, BLEND, 0.75), sig.lex)
    x = features(sig, 1)
    assert set(x) == set(LEXICAL_FEATURES)
    assert x["lex_margin"] == pytest.approx(0.2) and x["lex_top"] == 1.0


def test_features_compare_with_the_best_other_entry() -> None:
    sig = _sig([0.5, 0.7, 0.1], cos_q=[0.9, 0.85, 0.8], cos_p=[0.8, 0.9, 0.7], n_terms=20)
    x = features(sig, 0)
    assert set(x) == set(SEMANTIC_FEATURES)
    assert x["lex_margin"] == pytest.approx(-0.2)
    assert x["cos_margin"] == pytest.approx(0.05, abs=1e-6)
    assert x["cos_p_margin"] == pytest.approx(-0.1, abs=1e-6)
    assert (x["lex_top"], x["cos_top"], x["cos_p_top"]) == (0.0, 1.0, 0.0)
    assert x["long"] == 1.0  # capped


def _model(weights, bias=0.0) -> Model:
    names = tuple(f"f{i}" for i in range(len(weights)))
    return Model(
        names, tuple(weights), bias, (1.0,) * len(weights), (2.0,) * len(weights), 0.7, 0.3
    )


def test_model_probability_and_contributions() -> None:
    m = _model([1.0, -2.0], bias=0.5)
    x = {"f0": 3.0, "f1": 2.0}  # standardised: (3-1)/2 = 1, (2-1)/2 = 0.5
    c = m.contributions(x)
    assert c == {"f0": pytest.approx(1.0), "f1": pytest.approx(-1.0)}
    assert m.probability(x) == pytest.approx(1 / (1 + np.exp(-0.5)))
    assert Model.from_json(json.loads(json.dumps(m.to_json()))) == m
    with pytest.raises(ValueError):
        Model.from_json({**m.to_json(), "weights": [1.0]})


def test_logistic_fit_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 2)) * [1.0, 3.0] + [0.0, 5.0]
    z = 0.3 + 1.5 * X[:, 0] - 0.5 * (X[:, 1] - 5.0) / 3.0
    y = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(float)
    train_decision.L2 = 0.0
    try:
        beta, bias, mean, scale = train_decision.fit(X, y, np.ones(len(y)))
    finally:
        train_decision.L2 = 1.0
    # standardised coefficients: feature 0 has sd 1, feature 1 sd 3
    assert beta[0] * 1.0 / scale[0] == pytest.approx(1.5, abs=0.15)
    assert beta[1] == pytest.approx(-0.5, abs=0.1)
    assert bias - beta[0] * mean[0] / scale[0] == pytest.approx(0.3, abs=0.15)


def test_operating_point_is_the_lowest_cut_off_with_the_precision() -> None:
    p = np.array([0.95, 0.9, 0.85, 0.8, 0.6, 0.5, 0.4, 0.2])
    y = np.array([1, 1, 1, 0, 1, 0, 1, 0], dtype=float)
    in3 = np.array([1, 1, 1, 1, 1, 0, 1, 0], dtype=bool)  # the right entry among the hits
    threshold, suggest, stats = train_decision.operating_point(p, y, np.ones(8), in3, 0.99)
    assert threshold == pytest.approx(0.81)  # answering 0.8 (wrong) would break the precision
    assert stats["precision_oof"] == 1.0 and stats["answered"] == 3
    # close topics: down to where the refused questions stop having their entry in the hits
    # (0.5: wrong, 0.4 right again, but the rule stops at the first window that fails)
    assert 0.5 < suggest <= 0.6


def test_shipped_model_is_trained_and_sensible() -> None:
    raw = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    d = Decision.from_json(raw)
    assert d == load_decision()
    assert d.semantic.features == SEMANTIC_FEATURES
    assert d.lexical.features == LEXICAL_FEATURES
    assert sum(d.blend.values()) == pytest.approx(1.0)
    assert d.trained["questions"] > 300 and "tune" in d.trained["sets"]
    for m in (d.semantic, d.lexical):
        assert 0.0 < m.suggest <= m.threshold < 1.0
        assert all(s > 0 for s in m.scale)
        w = dict(zip(m.features, m.weights, strict=True))
        # more of the question found in the entry, and a clearer lead, mean a likelier answer
        assert w["lex"] > 0 and w["lex_margin"] > 0
    base = {f: m for f, m in zip(d.semantic.features, d.semantic.mean, strict=True)}
    closer = {**base, "cos": base["cos"] + 0.05, "cos_p": base["cos_p"] + 0.05}
    assert d.semantic.probability(closer) > d.semantic.probability(base)


def test_lexical_model_decides_without_cosines() -> None:
    d = load_decision()
    sig = _sig([0.9, 0.2, 0.1])
    x = features(sig, 0)
    p = d.lexical.probability(x)
    weak = features(dataclasses.replace(sig, lex=np.array([0.25, 0.2, 0.1])), 0)
    assert d.lexical.probability(weak) < p
