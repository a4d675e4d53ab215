"""Matching a Rev.io customer and an RMM company (pure; the same rule from either side).

1. strong key: the candidate is one the subject names (a Rev.io customer's RMM company id),
   or names the subject (an RMM company's description marker or one of its external ids is
   the Rev.io customer id) -> linked; two such candidates -> suggestions;
2. exact normalized name, unique on both sides -> linked; the same normalized name twice on
   either side is ambiguous and never resolved by guessing -> suggestions;
3. the best fuzzy candidates (rapidfuzz WRatio on normalized names) -> suggestions, never a
   link;
4. otherwise no candidate.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz import fuzz, process

SUGGEST_MIN_SCORE = 80.0
MAX_SUGGESTIONS = 3
MatchRule = Literal[
    "strong_key",
    "exact_name",
    "ambiguous_strong_key",
    "ambiguous_name",
    "fuzzy_name",
    "no_candidate",
]


@dataclass(frozen=True)
class Party:
    """One record as matching sees it (a Rev.io customer or an RMM company)."""

    id: str
    name: str
    key: str  # normalized name
    refs: tuple[str, ...] = ()  # ids of the other side this record may name (strong key)
    claimable: bool = True  # False: being created by revsync, only its strong key may link it


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    score: float

    def as_data(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "score": self.score}


@dataclass(frozen=True)
class Match:
    rule: MatchRule
    link: Candidate | None = None
    suggestions: tuple[Candidate, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)


class Candidates:
    """The other side's unlinked records, indexed once for matching many subjects in turn (a
    sync run's batch): strong keys and normalized names are dict lookups, and only a subject
    that reaches fuzzy scoring looks at every record (in rapidfuzz, not in Python). Scanning
    them all per subject made a 10,000-client batch quadratic: minutes of CPU."""

    def __init__(self, parties: Iterable[Party]) -> None:
        self._by_id: dict[str, Party] = {}
        self._by_key: dict[str, dict[str, Party]] = {}  # claimable ones only
        self._naming: dict[str, dict[str, Party]] = {}  # other side's id -> who names it
        self._fuzzy: tuple[list[str], list[Party]] | None = None
        for party in parties:
            self._by_id[party.id] = party
            if party.claimable and party.key:
                self._by_key.setdefault(party.key, {})[party.id] = party
            for ref in party.refs:
                self._naming.setdefault(ref, {})[party.id] = party

    def __len__(self) -> int:
        return len(self._by_id)

    def remove(self, party_id: str) -> None:
        """`party_id` is linked now: no longer a candidate of anyone."""
        party = self._by_id.pop(party_id, None)
        if party is None:
            return
        self._by_key.get(party.key, {}).pop(party_id, None)
        for ref in party.refs:
            self._naming.get(ref, {}).pop(party_id, None)
        self._fuzzy = None

    def strong(self, subject: Party, excluded: Collection[str]) -> list[Party]:
        """The records the subject names, and those that name it."""
        found = {r: self._by_id[r] for r in subject.refs if r in self._by_id}
        found.update(self._naming.get(subject.id, {}))
        return [p for p in found.values() if p.id not in excluded]

    def exact(self, key: str, excluded: Collection[str]) -> list[Party]:
        return [p for p in self._by_key.get(key, {}).values() if p.id not in excluded]

    def fuzzy(self, subject: Party, excluded: Collection[str]) -> tuple[Candidate, ...]:
        """The best claimable records by fuzzy name, the subject's exact namesakes and the
        excluded left out."""
        if self._fuzzy is None:
            pool = [p for p in self._by_id.values() if p.claimable]
            self._fuzzy = ([p.key for p in pool], pool)
        keys, pool = self._fuzzy
        if not subject.key or not pool:
            return ()
        left_out = set(excluded) | set(self._by_key.get(subject.key, {}))
        found = process.extract(
            subject.key,
            keys,
            scorer=fuzz.WRatio,
            processor=None,
            score_cutoff=SUGGEST_MIN_SCORE,
            limit=MAX_SUGGESTIONS * 2 + len(left_out),
        )
        scored = [(pool[index], score) for _, score, index in found]
        kept = [_candidate(p, score) for p, score in scored if p.id not in left_out]
        return _ranked(kept)[:MAX_SUGGESTIONS]


def _candidate(party: Party, score: float) -> Candidate:
    return Candidate(party.id, party.name, round(score, 1))


def _ranked(candidates: Sequence[Candidate]) -> tuple[Candidate, ...]:
    return tuple(sorted(candidates, key=lambda c: (-c.score, c.id)))


def match_company(
    subject: Party,
    others: "Sequence[Party] | Candidates",
    same_key_here: int,
    same_key_there: int,
    excluded: Collection[str] = (),
) -> Match:
    """Match `subject` against the unlinked records of the other side (`Candidates` when
    many subjects are matched against the same records).

    `same_key_here` / `same_key_there`: how many known records of the subject's side (itself
    included) and of the other side (linked ones included) have the subject's normalized
    name. `excluded`: candidates a person rejected for this subject; never proposed again.
    """
    candidates = others if isinstance(others, Candidates) else Candidates(others)
    inputs: dict[str, Any] = {
        "name": subject.name,
        "normalized_name": subject.key,
        "same_name_here": same_key_here,
        "same_name_there": same_key_there,
    }
    strong = candidates.strong(subject, excluded)
    if len(strong) == 1:
        return Match("strong_key", link=_candidate(strong[0], 100.0), inputs=inputs)
    if strong:
        suggestions = _ranked([_candidate(o, 100.0) for o in strong])
        return Match("ambiguous_strong_key", suggestions=suggestions, inputs=inputs)
    exact = candidates.exact(subject.key, excluded) if subject.key else []
    if len(exact) == 1 and same_key_here == 1 and same_key_there == 1:
        return Match("exact_name", link=_candidate(exact[0], 100.0), inputs=inputs)
    fuzzy = candidates.fuzzy(subject, excluded)
    if exact:
        suggestions = _ranked([_candidate(o, 100.0) for o in exact])
        return Match(
            "ambiguous_name", suggestions=(suggestions + fuzzy)[:MAX_SUGGESTIONS], inputs=inputs
        )
    if fuzzy:
        return Match("fuzzy_name", suggestions=fuzzy, inputs=inputs)
    return Match("no_candidate", inputs=inputs)
