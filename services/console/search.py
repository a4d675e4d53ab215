"""Ranking the unlinked records of one side for a search (rapidfuzz on the names)."""

from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz, process

from services.console.mappings import Unlinked

MIN_SCORE = 55.0


def rank(records: Sequence[Unlinked], query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Best matches first; without a query, the first records by name."""
    ordered = sorted(records, key=lambda r: (r.name.lower(), r.id))
    if not query.strip():
        return [_hit(r, None) for r in ordered[:limit]]
    found = process.extract(
        query,
        [r.name for r in ordered],
        scorer=fuzz.WRatio,
        processor=str.lower,
        limit=limit,
        score_cutoff=MIN_SCORE,
    )
    return [_hit(ordered[index], score) for _, score, index in found]


def _hit(record: Unlinked, score: float | None) -> dict[str, Any]:
    return {
        "system": record.system,
        "id": record.id,
        "name": record.name,
        "active": record.active,
        "score": round(score, 1) if score is not None else None,
    }
