"""Answer or refuse: a logistic regression over the signals of the best entry.

The model (coefficients, feature scaling, blend weight and operating point) is produced by
``bench/train_decision.py`` from labelled questions and shipped as ``decision.json`` beside
this module. It estimates the probability that the best entry answers the question; the bot
answers when that probability reaches the operating point chosen for precision. There are two
models: ``semantic`` (lexical and embedding signals) and ``lexical`` (when the embedding is
unavailable).

Signals of a question against its best entry (and the runner-up), see :func:`features`:
``lex`` lexical score (0..1), ``lex_margin`` its lead over the runner-up, ``cos`` the best
cosine with the entry's title/questions, ``cos_margin`` its lead, ``cos_p`` the cosine with
the entry's passage, ``cover`` the share of the question the entry contains, ``topic`` whether
a title/tag word is shared, ``single`` whether only one word is shared, ``unknown`` the share
of question words the knowledge base never saw, ``off_domain`` an office/IT word with no
social-media anchor, ``long`` the length of the question.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MODEL_FILE = Path(__file__).with_name("decision.json")

SEMANTIC_FEATURES = (
    "lex",
    "lex_margin",
    "lex_top",
    "cos",
    "cos_margin",
    "cos_top",
    "cos_p",
    "cos_p_margin",
    "cos_p_top",
    "cover",
    "topic",
    "single",
    "unknown",
    "off_domain",
    "long",
)
LEXICAL_FEATURES = tuple(f for f in SEMANTIC_FEATURES if not f.startswith("cos"))


@dataclass(frozen=True)
class Model:
    """One logistic regression: ``p = sigmoid(bias + sum(w_i * (x_i - mean_i) / scale_i))``."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    #: answer when p >= threshold
    threshold: float
    #: a hit is shown as a close topic on a refusal when its p >= suggest
    suggest: float

    def contributions(self, x: Mapping[str, float]) -> dict[str, float]:
        return {
            f: w * (float(x[f]) - m) / s
            for f, w, m, s in zip(self.features, self.weights, self.mean, self.scale, strict=True)
        }

    def probability(self, x: Mapping[str, float]) -> float:
        z = self.bias + sum(self.contributions(x).values())
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "weights": list(self.weights),
            "bias": self.bias,
            "mean": list(self.mean),
            "scale": list(self.scale),
            "threshold": self.threshold,
            "suggest": self.suggest,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object]) -> Model:
        feats = tuple(str(f) for f in d["features"])  # type: ignore[union-attr]
        vals = {k: tuple(float(v) for v in d[k]) for k in ("weights", "mean", "scale")}  # type: ignore[union-attr]
        if not all(len(v) == len(feats) for v in vals.values()):
            raise ValueError("decision model: features, weights, mean and scale differ in length")
        return cls(
            feats,
            vals["weights"],
            float(d["bias"]),  # type: ignore[arg-type]
            vals["mean"],
            vals["scale"],
            float(d["threshold"]),  # type: ignore[arg-type]
            float(d["suggest"]),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Decision:
    """Both models and the ranking blend (:func:`bot.knowledge.blend.blended`)."""

    semantic: Model
    lexical: Model
    #: weights of ``lex``, ``cos`` and ``cos_p`` in the ranking score
    blend: dict[str, float]
    #: cosines are rescaled to 0..1 from this floor
    cos_floor: float
    #: what the models were trained on, and how they scored there
    trained: dict[str, object]

    def model(self, with_semantic: bool) -> Model:
        return self.semantic if with_semantic else self.lexical

    def to_json(self) -> dict[str, object]:
        return {
            "blend": self.blend,
            "cos_floor": self.cos_floor,
            "trained": self.trained,
            "semantic": self.semantic.to_json(),
            "lexical": self.lexical.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object]) -> Decision:
        return cls(
            semantic=Model.from_json(d["semantic"]),  # type: ignore[arg-type]
            lexical=Model.from_json(d["lexical"]),  # type: ignore[arg-type]
            blend={str(k): float(v) for k, v in d["blend"].items()},  # type: ignore[union-attr]
            cos_floor=float(d["cos_floor"]),  # type: ignore[arg-type]
            trained=dict(d.get("trained") or {}),  # type: ignore[arg-type]
        )


@cache
def load_decision(path: Path = MODEL_FILE) -> Decision:
    return Decision.from_json(json.loads(path.read_text(encoding="utf-8")))
