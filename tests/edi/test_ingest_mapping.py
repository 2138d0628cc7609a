"""Ingestion: a partner's party and item ids mapped to our customers, addresses and products."""

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from app.auth.service import Actor, actor_from_token, issue_token
from app.catalog.models import Product, ShippingAddress
from app.edi.schemas import CsvProfileIn, PartyMappingIn
from app.edi.service import map_party as map_party_service
from app.edi.service import set_csv_profile
from app.edi.snapshot import gtin_forms
from app.errors import InvalidInput
from app.orders.service import get_order
from tests.builders import make_customer, make_product, make_user
from tests.edi.edi_builders import (
    DELIVERY_GLN,
    Hub,
    Line,
    ingest,
    make_hub,
    map_item,
    map_party,
    order_edifact,
    x12_850,
)


def product_with_gtin(session: Session, gtin: str, **kwargs: str) -> Product:
    product = make_product(session, **kwargs)
    product.gtin = gtin
    session.flush()
    return product


def admin(session: Session) -> Actor:
    return actor_from_token(session, issue_token(make_user(session, role="admin")))


def captured(session: Session, hub: Hub, data: bytes, **kwargs: str) -> object:
    answer = ingest(session, hub, data, **kwargs)
    assert answer.body["orders"], answer.body
    return get_order(session, number=answer.body["orders"][0], actor=hub.actor)


class TestGtinForms:
    @pytest.mark.parametrize(
        ("sent", "stored"),
        [
            ("9783898307529", "9783898307529"),  # ISBN-13 / EAN-13
            ("3898307522", "9783898307529"),  # ISBN-10
            ("012345678905", "0012345678905"),  # UPC-A
            ("96385074", "0000096385074"),  # EAN-8
            ("00012345678905", "0012345678905"),  # GTIN-14, indicator 0
        ],
    )
    def test_partner_identifiers_are_looked_up_as_the_gtin_we_store(self, sent: str, stored: str) -> None:
        assert stored in gtin_forms(sent)

    def test_an_invalid_check_digit_is_no_gtin(self) -> None:
        assert gtin_forms("9783898307520") == ()

    def test_a_case_gtin_is_kept_as_is(self) -> None:
        assert gtin_forms("18712345002005") == ("18712345002005",)


class TestItems:
    def test_an_isbn_10_finds_the_book_by_its_isbn_13(self, session: Session) -> None:
        hub = make_hub(session)
        book = product_with_gtin(session, "9780835209885")
        order = captured(session, hub, order_edifact([Line("0835209881", 2, qualifier="IB")]))
        assert order.lines[0].product_code == book.code

    def test_a_upc_in_an_850_finds_the_product(self, session: Session) -> None:
        hub = make_hub(session, gln=None)
        product = product_with_gtin(session, "0012345678905")
        order = captured(session, hub, x12_850([Line("012345678905", 4, qualifier="UP")]))
        assert order.lines[0].product_code == product.code and order.lines[0].quantity == Decimal(4)

    def test_the_partners_article_number_is_mapped_to_our_product(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        map_item(session, hub, "ART-77", product)
        order = captured(session, hub, order_edifact([Line("ART-77", 1, qualifier="IN")]))
        assert order.lines[0].product_code == product.code

    def test_another_partners_article_mapping_does_not_apply(self, session: Session) -> None:
        hub, other = make_hub(session), make_hub(session, gln="5412345000044")
        map_item(session, other, "ART-77", make_product(session))
        answer = ingest(session, hub, order_edifact([Line("ART-77", 1, qualifier="IN")]))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.lines == [] and [u.reason for u in order.unresolved_lines] == ["unknown_item"]

    def test_a_seller_assigned_id_is_our_product_code(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session, code="BK-1001")
        order = captured(session, hub, order_edifact([Line("BK-1001", 1, qualifier="SA")]))
        assert order.lines[0].product_code == product.code

    def test_a_buyer_assigned_id_is_not_taken_for_our_code(self, session: Session) -> None:
        hub = make_hub(session)
        make_product(session, code="BK-1002")
        answer = ingest(session, hub, order_edifact([Line("BK-1002", 1, qualifier="IN")]))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.lines == [] and [u.reason for u in order.unresolved_lines] == ["unknown_item"]


class TestParties:
    def test_a_partner_party_mapping_names_the_customer(self, session: Session) -> None:
        hub = make_hub(session, gln=None, others=1)
        map_party(session, hub, "B-7", hub.customer)
        product = make_product(session)
        assert product.gtin
        order = captured(session, hub, order_edifact([Line(product.gtin)], buyer="B-7"))
        assert order.customer_id == hub.customer.id and order.status == "captured"

    def test_the_delivery_party_gln_selects_the_shipping_address(self, session: Session) -> None:
        hub = make_hub(session)
        address = session.query(ShippingAddress).filter_by(customer_id=hub.customer.id).one()
        address.gln = DELIVERY_GLN
        session.flush()
        product = make_product(session)
        assert product.gtin
        order = captured(session, hub, order_edifact([Line(product.gtin)], delivery=DELIVERY_GLN))
        assert order.shipping_address is not None and order.shipping_address["code"] == address.code
        assert order.status == "captured"

    def test_a_mapped_delivery_party_names_the_customer_and_its_address(self, session: Session) -> None:
        hub = make_hub(session, gln=None, others=1)
        address = session.query(ShippingAddress).filter_by(customer_id=hub.customer.id).one()
        map_party(session, hub, "STORE-12", hub.customer, address.id)
        product = make_product(session)
        assert product.gtin
        order = captured(session, hub, order_edifact([Line(product.gtin)], buyer=None, delivery="STORE-12"))
        assert order.customer_id == hub.customer.id
        assert order.shipping_address is not None and order.shipping_address["code"] == address.code

    def test_an_unknown_delivery_party_is_left_for_review(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        order = captured(session, hub, order_edifact([Line(product.gtin)], delivery="5400000000028"))
        assert order.status == "needs_review" and order.shipping_address is None
        assert [p["code"] for p in order.problems] == ["unknown_delivery_party"]

    def test_an_850_without_buyer_takes_the_customer_mapped_to_the_envelope_sender(
        self, session: Session
    ) -> None:
        hub = make_hub(session, gln=None, others=1)
        map_party(session, hub, "BUYERX12", hub.customer)
        product = make_product(session)
        assert product.gtin
        order = captured(session, hub, x12_850([Line(product.gtin, qualifier="EN")]))
        assert order.customer_id == hub.customer.id and order.status == "captured"
        assert (order.external_references or {})["sender_id"] == "BUYERX12"

    def test_a_mapping_to_another_partners_customer_is_refused_when_created(self, session: Session) -> None:
        hub = make_hub(session)
        theirs = make_customer(session)
        with pytest.raises(InvalidInput):
            map_party_service(
                session,
                partner_name=hub.partner.name,
                mapping=PartyMappingIn(party_id="X", customer_code=theirs.code),
                actor=admin(session),
            )


class TestOtherFormats:
    def test_a_csv_partner_with_its_own_profile(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        profile = CsvProfileIn(
            name="hub-sheet",
            delimiter="|",
            has_header=True,
            headers={"po_number": ["order"], "buyer": ["shop"], "item": ["ean"], "quantity": ["qty"]},
        )
        set_csv_profile(session, partner_name=hub.partner.name, profile=profile, actor=admin(session))
        data = f"order|shop|ean|qty\nC-1|{hub.customer.gln}|{product.gtin}|4\n".encode()
        order = captured(session, hub, data, content_type="text/csv")
        assert order.customer_reference == "C-1" and order.lines[0].quantity == Decimal(4)

    def test_a_csv_without_profile_uses_the_built_in_layouts(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        data = f"commande;client;article;quantite\nK-9;{hub.customer.gln};{product.gtin};2\n".encode()
        order = captured(session, hub, data, content_type="text/csv")
        assert order.customer_reference == "K-9"
