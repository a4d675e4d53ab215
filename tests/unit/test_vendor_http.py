"""VendorHttp: which failures are retried, how they are classified, what is counted."""

import httpx
import pytest
from revsync.vendor import VendorError, VendorErrorKind, VendorHttp
from revsync.vendor.http import json_body
from revsync.vendor.metrics import calls_made


def vendor_answering(*responses: httpx.Response | Exception) -> tuple[VendorHttp, list[int]]:
    queue = list(responses)
    seen: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://v")
    tenant = f"unit{id(queue)}"
    return VendorHttp(
        "testvendor", tenant, client, None, lambda _: None, attempts=4, retry_budget_s=5
    ), seen


@pytest.fixture(autouse=True)
def no_real_waiting():
    import stamina

    stamina.set_testing(True, attempts=4)
    yield
    stamina.set_testing(False)


async def test_transient_failures_are_retried_then_succeed():
    http, seen = vendor_answering(
        httpx.Response(502),
        httpx.ConnectError("refused"),
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.Response(200, json={"ok": 1}),
    )
    response = await http.request("GET", "/x", "things")
    assert response.status_code == 200 and len(seen) == 4
    counted = calls_made(tenant=http.tenant_id)
    assert counted == {
        "testvendor things 502": 1,
        "testvendor things ConnectError": 1,
        "testvendor things 429": 1,
        "testvendor things 200": 1,
    }


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, VendorErrorKind.REJECTED),
        (404, VendorErrorKind.NOT_FOUND),
        (401, VendorErrorKind.UNAUTHORIZED),
        (403, VendorErrorKind.UNAUTHORIZED),
        (422, VendorErrorKind.REJECTED),
    ],
)
async def test_client_errors_are_never_retried_and_keep_the_vendor_message(status, kind):
    http, seen = vendor_answering(httpx.Response(status, json={"ok": False, "message": "bad id"}))
    with pytest.raises(VendorError) as raised:
        await http.request("POST", "/x", "things")
    assert raised.value.kind is kind and raised.value.status == status
    assert raised.value.message == "bad id"
    assert len(seen) == 1


async def test_persistent_unavailability_becomes_a_classified_error():
    http, seen = vendor_answering(httpx.Response(500, text="boom"))
    with pytest.raises(VendorError) as raised:
        await http.request("GET", "/x", "things")
    assert raised.value.kind is VendorErrorKind.UNAVAILABLE and raised.value.transient
    assert raised.value.payload == "boom"
    assert len(seen) == 4


async def test_persistent_rate_limiting_becomes_rate_limited():
    http, _ = vendor_answering(httpx.Response(423, headers={"Retry-After": "0"}))
    with pytest.raises(VendorError) as raised:
        await http.request("POST", "/v1/token", "token")
    assert raised.value.kind is VendorErrorKind.RATE_LIMITED


async def test_malformed_json_is_classified_with_the_payload_kept():
    response = httpx.Response(200, content=b'{"records": [1, 2')
    with pytest.raises(VendorError) as raised:
        json_body(response, "revio", "customers")
    assert raised.value.kind is VendorErrorKind.INVALID_RESPONSE
    assert raised.value.payload == '{"records": [1, 2'


async def test_a_create_is_not_repeated_after_an_answer_it_may_have_been_done_with():
    http, seen = vendor_answering(httpx.Response(502), httpx.Response(201, json={"id": 1}))
    with pytest.raises(VendorError) as raised:
        await http.request("POST", "/x", "things", idempotent=False)
    assert raised.value.kind is VendorErrorKind.UNAVAILABLE and len(seen) == 1

    http, seen = vendor_answering(httpx.ReadTimeout("slow"), httpx.Response(201))
    with pytest.raises(VendorError):
        await http.request("POST", "/x", "things", idempotent=False)
    assert len(seen) == 1


async def test_a_create_is_retried_when_the_vendor_says_it_did_not_process_it():
    http, seen = vendor_answering(
        httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(201, json={"id": 1})
    )
    response = await http.request("POST", "/x", "things", idempotent=False)
    assert response.status_code == 201 and len(seen) == 2


@pytest.mark.parametrize(
    ("url", "problem"),
    [("http://[::1/x", "InvalidURL"), ("not a url", "UnsupportedProtocol")],
    ids=["malformed", "no-http-scheme"],
)
async def test_a_url_that_cannot_be_sent_is_rejected_at_once_without_retry(url, problem):
    async with httpx.AsyncClient() as client:  # the real transport: it refuses the scheme
        http = VendorHttp("testvendor", f"unit-url-{problem}", client, None, lambda _: None)
        with pytest.raises(VendorError) as raised:
            await http.request("GET", url, "things")
    assert raised.value.kind is VendorErrorKind.REJECTED and not raised.value.transient
    assert raised.value.message.startswith("invalid URL: ")
    assert calls_made(tenant=http.tenant_id) == {f"testvendor things {problem}": 1}
