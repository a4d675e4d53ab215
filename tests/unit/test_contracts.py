"""Message contracts: envelope rules and the subject naming of ARCHITECTURE section 2."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from pydantic import ValidationError
from revsync.contracts import Result, ResultStatus, Subjects
from revsync.contracts.base import caused_by, copy_with
from revsync.contracts.revio import CreateRevioTicket
from revsync.contracts.rmm import RmmAlert, RmmAlertChanged, RmmCompany, RmmCompanyChanged


def alert_change(**overrides: object) -> RmmAlertChanged:
    alert = RmmAlert(
        ticket_id="9",
        endpoint_id="e1",
        company_id="c1",
        condition_id="disk",
        severity="High",
        summary="Disk full",
        status_category="New",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return RmmAlertChanged(**{"tenant_id": "acme", "kind": "raised", "alert": alert, **overrides})


def test_every_subject_carries_the_tenant_as_second_token():
    change = alert_change()
    assert change.subject == "change.acme.rmm.alert.raised"
    command = CreateRevioTicket(
        tenant_id="acme", source_key="alert:9", customer_id="5", title="t", description="d"
    )
    assert command.subject == "cmd.acme.revio.ticket.create"
    result = Result.of(command, ResultStatus.OK, {"ticket_id": "77"})
    assert result.subject == "result.acme.revio.ticket.create"
    for subject in (change.subject, command.subject, result.subject):
        assert Subjects.tenant_of(subject) == "acme"


def test_a_result_carries_its_commands_issuer_back_to_it_alone():
    command = CreateRevioTicket(
        tenant_id="acme", source_key="alert:9", customer_id="5", title="t", description="d"
    )
    anyones = Result.of(command, ResultStatus.OK)
    assert anyones.issuer is None and anyones.issued_to("alert") and anyones.issued_to("ticket")
    sent = command.model_copy(update={"issuer": "alert"})
    answer = Result.from_bytes(Result.of(sent, ResultStatus.OK).to_bytes())
    assert answer.issuer == "alert"
    assert answer.issued_to("alert") and not answer.issued_to("ticket")


def test_dead_letter_subject_round_trips_to_the_original():
    original = "cmd.acme.revio.ticket.create"
    assert Subjects.dead_letter(original) == "dlq.acme.cmd.revio.ticket.create"
    assert Subjects.original_of_dead_letter(Subjects.dead_letter(original)) == original
    assert Subjects.stream_of(Subjects.dead_letter(original)) == "DLQ"
    assert Subjects.stream_of(original) == "COMMANDS"


@pytest.mark.parametrize("bad", ["", "Acme", "a.b", "a b", "*", ">", "x" * 64])
def test_tenant_ids_that_would_break_subjects_are_refused(bad: str):
    with pytest.raises(ValidationError):
        alert_change(tenant_id=bad)
    with pytest.raises(ValueError):
        Subjects.change(bad, "rmm", "alert", "raised")


def test_occurred_at_must_be_aware_and_is_kept_in_utc():
    plus_two = timezone(timedelta(hours=2))
    change = alert_change(occurred_at=datetime(2026, 1, 1, 12, tzinfo=plus_two))
    assert change.occurred_at.utcoffset() == timedelta(0)
    assert change.occurred_at.hour == 10
    with pytest.raises(ValidationError):
        alert_change(occurred_at=datetime(2026, 1, 1, 12))


def test_a_caused_message_keeps_tenant_and_correlation_and_points_at_its_cause():
    cause = alert_change()
    command = CreateRevioTicket(
        **caused_by(cause), source_key="alert:9", customer_id="5", title="t", description="d"
    )
    assert command.tenant_id == cause.tenant_id
    assert command.correlation_id == cause.correlation_id
    assert command.causation_id == cause.message_id
    assert command.message_id != cause.message_id


def test_messages_round_trip_through_bytes_with_schema_version():
    change = RmmCompanyChanged(
        tenant_id="acme",
        kind="seen",
        sync_run_id=uuid4(),
        total=3,
        company=RmmCompany(id="1", name="Acme"),
    )
    assert b'"schema":1' in change.to_bytes()
    assert RmmCompanyChanged.from_bytes(change.to_bytes()) == change


def test_a_company_message_from_before_external_ids_still_parses():
    old = b'{"schema":1,"tenant_id":"acme","kind":"seen","company":{"id":"1","name":"A"}}'
    assert RmmCompanyChanged.model_validate_json(old).company.external_ids == ()
    change = RmmCompanyChanged(
        tenant_id="acme", kind="seen", company=RmmCompany(id="1", name="A", external_ids=("9",))
    )
    assert RmmCompanyChanged.from_bytes(change.to_bytes()).company.external_ids == ("9",)


def test_unknown_fields_and_kinds_are_rejected():
    with pytest.raises(ValidationError):
        alert_change(kind="exploded")
    with pytest.raises(ValidationError):
        RmmCompanyChanged.model_validate_json(
            b'{"tenant_id":"acme","kind":"seen","company":{"id":"1","name":"A"},"extra":1}'
        )


def test_filters_take_wildcards_where_builders_do_not():
    assert Subjects.filter("cmd", system="revio", entity="ticket") == "cmd.*.revio.ticket.*"
    assert Subjects.filter("change", tenant="acme") == "change.acme.*.*.*"
    assert Subjects.filter("dlq") == "dlq.*.>"
    with pytest.raises(ValueError):
        Subjects.filter("cmd", system="re.vio")


def nats_matches(filter_: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` one or more."""
    wanted, tokens = filter_.split("."), subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > i
        if i >= len(tokens) or token not in ("*", tokens[i]):
            return False
    return len(tokens) == len(wanted)


def test_a_tenants_filter_of_a_stream_takes_all_of_it_and_nothing_of_a_lookalike_tenant():
    def every_subject_of(tenant: str) -> dict[str, str]:
        change = Subjects.change(tenant, "rmm", "company", "changed")
        command = Subjects.command(tenant, "revio", "ticket", "create")
        result = Subjects.result(tenant, "revio", "ticket", "create")
        return {
            "CHANGES": change,
            "COMMANDS": command,
            "RESULTS": result,
            "DLQ": Subjects.dead_letter(command),
        }

    assert Subjects.of_tenant("DLQ", "acme") == "dlq.acme.>"
    assert Subjects.of_tenant("CHANGES", "acme") == "change.acme.>"
    for stream in Subjects.STREAMS:
        mine = Subjects.of_tenant(stream, "acme")
        for other_stream, subject in every_subject_of("acme").items():
            assert nats_matches(mine, subject) == (other_stream == stream), (mine, subject)
            assert nats_matches(Subjects.STREAMS[other_stream], subject)
        for subject in [*every_subject_of("acme2").values(), *every_subject_of("acm").values()]:
            assert not nats_matches(mine, subject), (mine, subject)


@pytest.mark.parametrize(
    ("stream", "tenant"), [("DLQ", "*"), ("DLQ", ">"), ("DLQ", ""), ("CHANGES", "a.b"), ("X", "a")]
)
def test_a_tenants_filter_never_widens_to_other_tenants(stream: str, tenant: str):
    with pytest.raises(ValueError):
        Subjects.of_tenant(stream, tenant)


def test_copy_with_gives_what_model_copy_gives_and_leaves_the_original_alone():
    from services.asset.state import AssetState

    asset = AssetState(identifier="SN-1", pending={"c1": {"verb": "upsert"}})
    changes = {"state": "pending", "rule": "endpoint_to_asset", "pending": {}}

    copied = copy_with(asset, changes)

    expected = asset.model_copy(update=changes)
    assert type(copied) is AssetState
    assert copied == expected
    assert copied.model_fields_set == expected.model_fields_set
    assert copied.model_dump(mode="json") == expected.model_dump(mode="json")
    assert asset.state == "observed" and asset.pending == {"c1": {"verb": "upsert"}}
    with pytest.raises(ValidationError):
        copied.state = "synced"  # type: ignore[misc]  # still frozen
