"""Company-name variation for the seed world: how one client's name drifts between systems."""

import random

from services.sandbox.common.seed_words import NEAR_DUPLICATE_TAILS, SUFFIX_VARIANTS


def split_suffix(name: str) -> tuple[str, str]:
    """("Harbor Dental", "LLC") for "Harbor Dental LLC"; suffix "" when none."""
    base, _, last = name.rpartition(" ")
    return (base, last) if last in SUFFIX_VARIANTS else (name, "")


def with_suffix(base: str, suffix: str) -> str:
    if not suffix:
        return base
    return f"{base}{suffix}" if suffix.startswith(",") else f"{base} {suffix}"


def drifted_name(name: str, rng: random.Random) -> str:
    """The same company as another system's operator typed it: a different legal suffix,
    case, punctuation or `&` vs `and`. Always differs from `name`."""
    base, suffix = split_suffix(name)
    variants = [with_suffix(base, alternative) for alternative in SUFFIX_VARIANTS.get(suffix, ())]
    if "&" in name:
        variants.append(name.replace("&", "and"))
    if " and " in name:
        variants.append(name.replace(" and ", " & "))
    if "'" in name or "." in base:
        variants.append(name.replace("'", "").replace(".", ""))
    variants += [name.upper(), name.lower(), f"{name} "]
    return rng.choice([variant for variant in variants if variant != name])


def near_duplicate_name(name: str, rng: random.Random) -> str:
    """A different company whose name looks like `name`: "Acme Corp" -> "Acme Corporation
    Services"."""
    base, suffix = split_suffix(name)
    longer_suffix = {"Corp": "Corporation", "Co.": "Company", "Inc": "Incorporated"}.get(suffix)
    tail = rng.choice(NEAR_DUPLICATE_TAILS)
    if longer_suffix:
        return f"{base} {longer_suffix} {tail}"
    return with_suffix(f"{base} {tail}", suffix)
