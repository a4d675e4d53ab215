"""The data of `SettingsChanged`, the event of a tenant's `settings` stream:

    {"config": {...}, "secrets_changed": ["revio.password"],
     "changes": [{"field": "min_alert_severity", "old": "High", "new": "Critical"}]}

- `config`: the whole public configuration after the save (`tenant_store.public_config`),
  what replay folds into `tenants`.
- `secrets_changed`: the secrets the save set, by name, never their values.
- `changes`: each setting the save changed, by its name in the settings document
  (`min_alert_severity`, `rmm.client_id`, `name`), with its old and new value; never a
  secret (a public configuration holds none). A tenant's first save has no `changes`
  (`config` says it all), and neither have the events recorded before the field existed:
  both still fold, and read "Settings saved".
"""

from typing import Any

from pydantic import BaseModel

NOT_SETTINGS = ("id", "enabled")  # the tenant's id, and its lifecycle's (TenantEnabled...)


class SettingChange(BaseModel):
    field: str
    old: Any = None
    new: Any = None


def by_setting_name(config: dict[str, Any]) -> dict[str, Any]:
    """A public configuration under the settings document's names: the sync settings at the
    top level, the connections' values as `rmm.client_id`, `revio.username`..."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if key in NOT_SETTINGS:
            continue
        if key == "settings":
            flat.update(value)
        elif isinstance(value, dict):
            flat.update({f"{key}.{name}": v for name, v in value.items()})
        else:
            flat[key] = value
    return flat


def settings_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[SettingChange]:
    """What a save changes, from the public configuration before it (None: a new tenant,
    every setting is new) to the one after, in the document's order."""
    old, new = by_setting_name(before or {}), by_setting_name(after)
    names = [*new, *(name for name in old if name not in new)]
    return [
        SettingChange(field=name, old=old.get(name), new=new.get(name))
        for name in names
        if old.get(name) != new.get(name)
    ]
