"""Custom fields (`fields[{field_id, label, value}]`) on customers, tickets and inventory items.

[inferred] Rev.io defines custom fields per account in its UI. The sandbox defines a field the
first time a label is used, so a connector can write its own markers without set-up; a
`field_id` that was never defined is refused.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from services.sandbox.revio.errors import RevioError


class CustomFieldValue(BaseModel):
    """One entry of a `fields` list as a client sends it: `field_id` or `label` (or both)."""

    model_config = ConfigDict(extra="forbid")

    field_id: int | None = None
    label: str | None = None
    value: str


class CustomFieldRegistry:
    """Field definitions of one account: ids from 1 in order of first use; labels case-blind."""

    def __init__(self, labels: list[str] | None = None) -> None:
        self._labels: list[str] = []
        self._ids: dict[str, int] = {}
        for label in labels or []:
            self.field_id(label)

    def field_id(self, label: str) -> int:
        """The id of `label`, defining the field if it is new."""
        key = label.casefold()
        if key not in self._ids:
            self._labels.append(label)
            self._ids[key] = len(self._labels)
        return self._ids[key]

    def label(self, field_id: int) -> str | None:
        return self._labels[field_id - 1] if 1 <= field_id <= len(self._labels) else None

    def labels(self) -> list[str]:
        return list(self._labels)


def resolve_fields(registry: CustomFieldRegistry, values: list[CustomFieldValue]) -> list[Any]:
    """The stored form `[{field_id, label, value}]`; 400 for unknown ids, clashes, repeats.

    New labels are defined only once the whole list is valid.
    """
    labelled: list[tuple[str, str]] = []
    for entry in values:
        label = _label_of(registry, entry)
        if any(label.casefold() == seen.casefold() for seen, _ in labelled):
            raise RevioError(400, f"Custom field '{label}' is given twice.")
        labelled.append((label, entry.value))
    resolved = []
    for label, value in labelled:
        field_id = registry.field_id(label)
        resolved.append({"field_id": field_id, "label": registry.label(field_id), "value": value})
    return resolved


def _label_of(registry: CustomFieldRegistry, entry: CustomFieldValue) -> str:
    if entry.field_id is None:
        if not entry.label:
            raise RevioError(400, "A custom field needs a field_id or a label.")
        return entry.label
    label = registry.label(entry.field_id)
    if label is None:
        raise RevioError(400, f"Custom field {entry.field_id} does not exist.")
    if entry.label and entry.label.casefold() != label.casefold():
        raise RevioError(400, f"Custom field {entry.field_id} is labelled '{label}'.")
    return label


def field_value(fields: list[Any], label: str) -> str | None:
    """The value of the custom field called `label` (case-blind), if the record has it."""
    key = label.casefold()
    return next((entry["value"] for entry in fields if entry["label"].casefold() == key), None)
