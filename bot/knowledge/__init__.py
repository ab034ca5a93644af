"""The knowledge engine: curated entries, their checks, and question answering.

Public API (no Telegram here):

- :func:`load_knowledge` (``dir`` -> :class:`KnowledgeBase`, raises :class:`KnowledgeError`)
- :func:`check_knowledge` (``dir`` -> list of :class:`Problem`, for ``opdbot kb check``)
- :meth:`KnowledgeBase.search` -> :class:`SearchResult` (``answered``, ``ambiguous``, ``hits``)
- :meth:`KnowledgeBase.get`, :attr:`KnowledgeBase.entries`, :meth:`KnowledgeBase.by_pillar`,
  :meth:`KnowledgeBase.related`; :data:`PILLARS` for labels and emoji.
"""

from bot.knowledge.entry import PILLARS, Entry, EntryMeta, KnowledgeError, Pillar, Problem
from bot.knowledge.loader import check_knowledge, load_knowledge
from bot.knowledge.search import Hit, KnowledgeBase, SearchResult

__all__ = [
    "PILLARS",
    "Entry",
    "EntryMeta",
    "Hit",
    "KnowledgeBase",
    "KnowledgeError",
    "Pillar",
    "Problem",
    "SearchResult",
    "check_knowledge",
    "load_knowledge",
]
