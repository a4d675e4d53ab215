"""Maps the vendor-neutral seed world into one account's RMM store: a company per client that
exists in RMM (with the client's Rev.io customer id as an external id where the world says
so), a site per address, endpoints, and the client's existing RMM tickets."""

from services.sandbox.common.gc_pause import gc_paused
from services.sandbox.common.world import Address, Client, World
from services.sandbox.cwrmm.documents import (
    ACTIVE,
    INACTIVE,
    REVIO_PRODUCT_ID,
    Document,
    address_document,
    company_document,
    endpoint_record,
    id_mapping,
    iso,
    site_document,
    site_reference,
)
from services.sandbox.cwrmm.endpoint_documents import endpoint_document
from services.sandbox.cwrmm.ids import stable_id
from services.sandbox.cwrmm.seed_tickets import seed_ticket
from services.sandbox.cwrmm.store import RmmStore


def store_from_world(world: World | None, partner_id: str) -> RmmStore:
    store = RmmStore(partner_id=partner_id)
    revio_ids = world.revio_customer_ids() if world else {}
    with gc_paused():
        for client in world.clients if world else []:
            if client.in_rmm:
                _add_client(store, client, revio_ids.get(client.number))
    return store


def site_name(address: Address, index: int) -> str:
    return "Main Office" if index == 0 else f"{address.city} Office {index + 1}"


def _add_client(store: RmmStore, client: Client, revio_id: int | None) -> None:
    created = iso(client.created_at)
    contact = client.contact
    company_id = stable_id("company", client.number)
    company = company_document(
        company_id,
        client.rmm_name,
        store.partner_id,
        created,
        activityStatus={**(ACTIVE if client.active else INACTIVE), "defaultFlag": client.active},
        externalIds=_external_ids(client, company_id, revio_id),
        primaryContact={
            "id": stable_id("contact", client.number),
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "primaryEmail": {"emailAddress": contact.email, "primaryFlag": True},
            "primaryPhoneNumber": {"nationalNumber": contact.phone, "primaryFlag": True},
        },
    )
    site_ids = []
    for index, address in enumerate(client.addresses):
        site = site_document(
            stable_id("site", client.number, index),
            company,
            site_name(address, index),
            created,
            primaryFlag=index == 0,
            primaryAddress=address_document(
                address.line_1, address.city, address.state, address.postal_code, address.country
            ),
        )
        store.sites[site["id"]] = site
        site_ids.append(site["id"])
    company["primarySite"] = site_reference(store.sites[site_ids[0]])
    store.companies[company["id"]] = company
    store.add_endpoints(
        [
            endpoint_record(
                e.category, company["id"], site_ids[e.address_index], endpoint_document(e)
            )
            for e in client.endpoints
        ]
    )
    for ticket in client.tickets:
        if ticket.system == "rmm":
            seed_ticket(store, ticket, company["id"], site_ids[0])


def _external_ids(client: Client, company_id: str, revio_id: int | None) -> list[Document]:
    if not client.revio_id_in_rmm or revio_id is None:
        return []
    mapping_id = stable_id("company-mapping", client.number)
    instance_id = stable_id("product-instance", REVIO_PRODUCT_ID)
    return [id_mapping(mapping_id, company_id, str(revio_id), REVIO_PRODUCT_ID, instance_id)]
