"""What a settings save changed, and how the audit trail and the wizard say it: each setting
old -> new (never a secret's value), nothing for a save that changes nothing, product names
rather than internal ones, on/off and names rather than True/False and ids; and when a tenant
is waiting for its setup to be finished."""

from datetime import UTC, datetime
from uuid import uuid4

from pydantic import SecretStr
from revsync.contracts.settings import SettingChange, settings_changes
from revsync.eventlog import RecordedEvent
from revsync.tenancy import RevioConnection, RmmConnection, SyncSettings, Tenant
from revsync.tenant_store import public_config

from services.console.audit_words import describe
from services.console.pages.wizard_steps import STEP_OF_FIELD, Spec
from services.console.settings_doc import build_candidate
from services.console.tenants import waits_for_setup


def tenant(**settings: object) -> Tenant:
    return Tenant(
        id="acme",
        name="Acme",
        rmm=RmmConnection(client_id="id", client_secret=SecretStr("s")),
        revio=RevioConnection(username="u", client_code="C", password=SecretStr("p")),
        settings=SyncSettings(**settings),  # type: ignore[arg-type]
    )


def test_a_save_lists_each_setting_it_changes_with_the_old_and_new_value():
    before = public_config(tenant(min_alert_severity="High"))
    after = public_config(
        tenant(min_alert_severity="Critical").model_copy(
            update={"rmm": RmmConnection(client_id="other", client_secret=SecretStr("new"))}
        )
    )

    assert settings_changes(before, after) == [
        SettingChange(field="rmm.client_id", old="id", new="other"),
        SettingChange(field="min_alert_severity", old="High", new="Critical"),
    ]
    assert settings_changes(before, before) == []


def test_the_audit_says_which_settings_changed_old_to_new_and_only_names_secrets():
    data = {
        "config": {},
        "secrets_changed": ["revio.password"],
        "changes": [
            {"field": "min_alert_severity", "old": "High", "new": "Critical"},
            {"field": "sync_alerts", "old": True, "new": False},
            {"field": "rmm.client_id", "old": "", "new": "acme-client"},
        ],
    }

    assert describe("SettingsChanged", data) == (
        "Settings saved: minimum alert severity High -> Critical, sync alerts on -> off,"
        " RMM client id none -> acme-client; new Rev.io password"
    )


def test_a_settings_event_recorded_before_changes_existed_still_reads_well():
    old = {"config": {"name": "Acme"}, "secrets_changed": ["rmm.client_secret"]}
    assert describe("SettingsChanged", old) == "Settings saved; new RMM client secret"
    assert describe("SettingsChanged", {"config": {}, "secrets_changed": []}) == "Settings saved"


def test_a_secret_given_again_unchanged_is_not_a_new_secret():
    current = tenant()
    same = {"rmm": {"client_secret": "s"}, "revio": {"password": "new-password"}}

    candidate = build_candidate("acme", current, same, replace=False)

    assert candidate.new_secrets == ["revio.password"]
    assert candidate.to_save is not None and candidate.to_save.rmm.client_secret is None
    assert candidate.checked is not None and candidate.checked.rmm.client_secret is not None


def test_the_audit_names_rev_io_and_rmm_not_their_internal_names():
    said = {
        describe("RevioIdWrittenBack", {"value": "A-7", "endpoint_id": "e1"}),
        describe("RmmCompanyClaimed", {"rule": "created_in_rmm", "revio_customer_id": "101"}),
        describe("RmmSiteCreated", {"site_id": "s1", "address_id": "a1"}),
        describe("TicketLinkRequested", {"target": "rmm"}),
        describe("TicketLinkRequested", {"target": "revio"}),
        describe("TicketFieldSynced", {"field": "status", "from_side": "rmm", "to_side": "revio"}),
        describe("NoteCarried", {"direction": "revio_to_rmm"}),
        describe("RmmSomethingNew", {"rule": "created_in_revio"}),  # no words of its own yet
    }

    assert said == {
        "Rev.io id A-7 written into the RMM endpoint e1",
        "Linked to Rev.io customer 101 (created in RMM by revsync)",
        "RMM site s1 created for Rev.io address a1",
        "Creating its counterpart in RMM",
        "Creating its counterpart in Rev.io",
        "status copied from RMM to Rev.io",
        "Note copied (Rev.io to RMM)",
        "RMM something new: created in Rev.io",
    }
    for words in said:
        assert "rmm" not in words and "revio" not in words.replace("Rev.io", "")


def spec(name: str) -> Spec:
    return next(s for s in STEP_OF_FIELD[name].specs if s.name == name)


def test_the_finish_step_shows_on_off_and_names_rather_than_ids():
    board = str(uuid4())
    found = {
        "rmm": {"ok": True, "boards": [{"id": board, "name": "Help Desk", "active": True}]},
        "revio": {"ok": False, "error": "unreachable"},
    }
    boards = spec("default_service_board")

    assert boards.words(board, found) == "Help Desk"
    assert boards.words("gone", found) == "gone"  # not known: the id, as stored
    assert spec("bill_profile").words("1", found) == "1"  # Rev.io could not be read
    checkbox = spec("sync_alerts")
    assert (checkbox.words(True, found), checkbox.words(False, found)) == ("on", "off")
    assert spec("asset_type").words(None, found) == "not set"
    assert spec("endpoint_categories").words(["platform", "network"], found) == "platform, network"


def lifecycle(*events: tuple[str, dict[str, object]]) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            id=uuid4(),
            tenant_id="beta",
            stream="tenant",
            version=version,
            global_position=version,
            type=type_,
            data=data,
            metadata={},
            recorded_at=datetime.now(UTC),
            tx_id=1,
        )
        for version, (type_, data) in enumerate(events, 1)
    ]


def test_a_tenant_created_disabled_waits_for_its_setup_until_enabled_or_disabled():
    created_off = ("TenantCreated", {"name": "Beta", "enabled": False})

    assert waits_for_setup(lifecycle(created_off))
    assert not waits_for_setup(lifecycle(("TenantCreated", {"name": "Beta", "enabled": True})))
    assert not waits_for_setup(lifecycle(created_off, ("TenantEnabled", {})))
    assert not waits_for_setup(
        lifecycle(created_off, ("TenantEnabled", {}), ("TenantDisabled", {}))
    )
    assert not waits_for_setup(lifecycle())  # created before the lifecycle was recorded
