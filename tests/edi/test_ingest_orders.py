"""Ingestion: what a partner's messages become (orders, orders to review, refused messages)."""

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.models import Product
from app.edi.models import EdiInterchange
from app.orders.models import SaleOrder
from app.orders.service import get_order
from tests.builders import make_customer, make_product
from tests.edi.edi_builders import (
    BUYER_GLN,
    Line,
    edifact,
    ingest,
    make_hub,
    order_count,
    order_edifact,
    orders_message,
    x12_850,
)


def stored(session: Session, interchange_id: int) -> EdiInterchange:
    row = session.get(EdiInterchange, interchange_id)
    assert row is not None
    return row


class TestAcceptedOrders:
    def test_a_clean_order_is_captured_on_the_edi_channel_with_the_partners_references(
        self, session: Session
    ) -> None:
        hub = make_hub(session)
        first, second = make_product(session), make_product(session)
        assert first.gtin and second.gtin
        data = order_edifact([Line(first.gtin, 2, number="10"), Line(second.gtin, 3, number="20")])
        answer = ingest(session, hub, data)
        assert not answer.resend
        assert answer.body["status"] == "accepted" and answer.body["errors"] == []
        [number] = answer.body["orders"]
        order = get_order(session, number=number, actor=hub.actor)
        assert (order.channel, order.status, order.customer_id) == ("edi", "captured", hub.customer.id)
        assert order.customer_reference == "PO-1"
        assert [(line.product_code, line.quantity, line.external_line_no) for line in order.lines] == [
            (first.code, Decimal(2), "10"),
            (second.code, Decimal(3), "20"),
        ]
        assert order.captured_by == f"partner:{hub.partner.id}"
        references = order.external_references or {}
        assert references["po_number"] == "PO-1" and references["buyer_id"] == BUYER_GLN
        assert references["interchange_ref"] == "1001" and references["message_ref"] == "1"
        assert references["interchange_id"] == answer.body["id"]
        assert references["document_date"] == "2026-11-20"
        assert order.requested_date is not None and order.requested_date.isoformat() == "2026-11-25"

    def test_every_message_of_the_interchange_becomes_an_order_in_one_go(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        messages = [orders_message(str(n), f"PO-{n}", [Line(product.gtin, n)]) for n in range(1, 6)]
        answer = ingest(session, hub, edifact(*messages))
        assert len(answer.body["orders"]) == 5
        assert [m["po_number"] for m in answer.body["messages"]] == [f"PO-{n}" for n in range(1, 6)]
        reserved = session.execute(select(Product.reserved_quantity).where(Product.id == product.id)).scalar()
        assert reserved == Decimal(15)

    def test_stock_seen_by_each_order_accounts_for_the_earlier_ones(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session, stock="5")
        assert product.gtin
        messages = [orders_message(str(n), f"PO-{n}", [Line(product.gtin, 3)]) for n in (1, 2)]
        answer = ingest(session, hub, edifact(*messages))
        orders = [get_order(session, number=n, actor=hub.actor) for n in answer.body["orders"]]
        shortfalls = [[w["code"] == "stock_shortfall" for w in order.warnings] for order in orders]
        assert [any(flags) for flags in shortfalls] == [False, True]

    def test_a_resend_by_another_channel_is_flagged_as_a_possible_duplicate(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        messages = [orders_message(str(n), "SAME-PO", [Line(product.gtin, 1)]) for n in (1, 2)]
        answer = ingest(session, hub, edifact(*messages))
        second = get_order(session, number=answer.body["orders"][1], actor=hub.actor)
        [warning] = second.warnings
        assert warning["code"] == "possible_duplicate" and warning["orders"] == [answer.body["orders"][0]]


class TestEveryLineKept:
    def test_an_unknown_item_stays_on_the_order_as_sent_and_holds_it(self, session: Session) -> None:
        hub = make_hub(session)
        known = make_product(session)
        assert known.gtin
        data = order_edifact(
            [Line(known.gtin, 1, number="1"), Line("4006381333931", 7, number="2", price="4.20")]
        )
        answer = ingest(session, hub, data)
        assert answer.body["status"] == "accepted"
        assert answer.body["messages"][0]["problems"] == ["unknown_item"]
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.status == "needs_review" and len(order.lines) == 1 and order.problems == []
        [line] = order.unresolved_lines
        assert (line.position, line.external_line_no, line.quantity, line.unit_price, line.reason) == (
            2,
            "2",
            "7",
            "4.2",
            "unknown_item",
        )
        assert line.items == [{"id": "4006381333931", "kind": "gtin", "qualifier": "EN"}]
        assert (line.status, line.product_id) == ("open", None)
        assert answer.body["warnings"][0]["code"] == "needs_review"

    def test_a_price_that_differs_from_ours_keeps_ours_for_review(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session, price="10.00")
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin, 1, price="9.50")]))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.status == "needs_review" and order.lines[0].unit_price == Decimal("10.00")
        [problem] = order.problems
        assert (problem["code"], problem["partner_price"], problem["our_price"]) == (
            "price_difference",
            "9.5",
            "10",
        )

    def test_a_fractional_quantity_of_a_unit_product_is_kept_as_sent_not_rounded(
        self, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin, "2.5")]))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.lines == [] and order.status == "needs_review"
        [line] = order.unresolved_lines
        assert (line.quantity, line.reason, line.product_code) == ("2.5", "fractional_quantity", product.code)

    def test_quantities_no_order_line_can_hold_keep_the_order_held(self, session: Session) -> None:
        hub = make_hub(session)
        product, other, third = make_product(session), make_product(session), make_product(session)
        assert product.gtin and other.gtin and third.gtin
        lines = [Line(product.gtin, 123456789012), Line(other.gtin, 0), Line(third.gtin, "-2")]
        answer = ingest(session, hub, order_edifact(lines))
        assert answer.body["status"] == "accepted" and answer.body["errors"] == []
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.lines == [] and order.status == "needs_review"
        assert [(u.quantity, u.reason) for u in order.unresolved_lines] == [
            ("123456789012", "invalid_quantity"),
            ("0", "invalid_quantity"),
            ("-2", "invalid_quantity"),
        ]
        reserved = session.execute(select(Product.reserved_quantity).where(Product.id == product.id)).scalar()
        assert reserved == Decimal(0)  # nothing reserved for a line that is not an order line

    def test_stock_is_reserved_for_the_resolved_lines_only(self, session: Session) -> None:
        hub = make_hub(session)
        product, other = make_product(session), make_product(session)
        assert product.gtin and other.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin, 4), Line(other.gtin, "1.5")]))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert [(line.product_code, line.quantity) for line in order.lines] == [(product.code, Decimal(4))]
        reserved = dict(
            session.execute(
                select(Product.code, Product.reserved_quantity).where(Product.id.in_([product.id, other.id]))
            ).all()
        )
        assert reserved == {product.code: Decimal(4), other.code: Decimal(0)}

    def test_a_line_declared_count_that_disagrees_holds_the_order(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        data = order_edifact([Line(product.gtin, 1), Line(product.gtin, 2)]).replace(b"CNT+2:2", b"CNT+2:3")
        answer = ingest(session, hub, data)
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.status == "needs_review" and [p["code"] for p in order.problems] == [
            "line_count_mismatch"
        ]

    def test_an_unknown_buyer_of_a_partner_with_one_customer_is_taken_as_that_customer(
        self, session: Session
    ) -> None:
        hub = make_hub(session, gln=None)
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin)], buyer="5400000000011"))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.customer_id == hub.customer.id and order.status == "needs_review"
        assert [p["code"] for p in order.problems] == ["unknown_buyer"]

    def test_a_test_interchange_is_captured_for_review_only(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin)], test=True))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert [p["code"] for p in order.problems] == ["test_interchange"]


class TestRefusedMessages:
    def test_a_message_without_any_known_item_is_kept_held_beside_the_others(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        data = edifact(
            orders_message("1", "GOOD", [Line(product.gtin)]),
            orders_message("2", "ODD", [Line("4006381333931"), Line("UNKNOWN-1", qualifier="SA")]),
        )
        answer = ingest(session, hub, data)
        assert not answer.resend and answer.body["status"] == "accepted"
        assert len(answer.body["orders"]) == 2 and answer.body["errors"] == []
        assert [m["status"] for m in answer.body["messages"]] == ["captured", "needs_review"]
        held = get_order(session, number=answer.body["orders"][1], actor=hub.actor)
        assert [u.items[0]["id"] for u in held.unresolved_lines] == ["4006381333931", "UNKNOWN-1"]

    def test_a_buyer_nobody_knows_cannot_be_guessed_among_several_customers(self, session: Session) -> None:
        hub = make_hub(session, gln=None, others=1)
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin)], buyer="5400000000011"))
        assert answer.body["status"] == "rejected" and answer.body["orders"] == []
        assert [e["code"] for e in answer.body["errors"]] == ["unknown_buyer"]

    def test_another_partners_customer_is_refused(self, session: Session) -> None:
        hub = make_hub(session)
        theirs = make_customer(session, gln="5412345000037")
        product = make_product(session)
        assert product.gtin
        before = order_count(session)
        answer = ingest(session, hub, order_edifact([Line(product.gtin)], buyer=theirs.gln))
        assert answer.body["status"] == "rejected"
        assert [e["code"] for e in answer.body["errors"]] == ["buyer_not_yours"]
        assert order_count(session) == before

    def test_a_blocked_customer_is_refused(self, session: Session) -> None:
        hub = make_hub(session)
        hub.customer.blocked = True
        session.flush()
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin)]))
        assert [e["code"] for e in answer.body["errors"]] == ["customer_blocked"]

    def test_an_interchange_without_purchase_orders_is_rejected(self, session: Session) -> None:
        hub = make_hub(session)
        answer = ingest(session, hub, edifact())
        assert answer.body["status"] == "rejected"
        assert answer.body["errors"][0]["code"] in {"no_order", "missing_segment"}


class TestSyntaxRejection:
    def test_a_syntax_error_rejects_the_interchange_with_located_errors_and_no_order(
        self, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        data = order_edifact([Line(product.gtin)]).replace(b"UNT+11+1", b"UNT+99+1")
        before = order_count(session)
        answer = ingest(session, hub, data)
        assert not answer.resend and answer.body["status"] == "rejected"
        assert answer.body["orders"] == [] and order_count(session) == before
        [error] = answer.body["errors"]
        assert error["code"] == "control_count_mismatch"
        assert "segment" in error["loc"] and "UNT" in error["loc"] and "99" in error["msg"]
        row = stored(session, answer.body["id"])
        assert row.raw == data and row.status == "rejected" and row.format == "edifact"

    def test_bytes_that_are_no_known_format_are_kept_and_rejected(self, session: Session) -> None:
        hub = make_hub(session)
        data = b"\x00\x01garbage\xff"
        answer = ingest(session, hub, data)
        assert answer.body["status"] == "rejected" and answer.body["format"] is None
        assert answer.body["errors"][0]["code"] == "unknown_format"
        assert stored(session, answer.body["id"]).raw == data
        assert answer.body["acknowledgment_url"] is not None  # the JSON answer

    def test_an_empty_body_is_kept_and_rejected(self, session: Session) -> None:
        hub = make_hub(session)
        answer = ingest(session, hub, b"")
        assert answer.body["status"] == "rejected" and stored(session, answer.body["id"]).size == 0


def test_orders_of_a_rejected_interchange_never_reach_the_database(session: Session) -> None:
    hub = make_hub(session)
    product = make_product(session)
    assert product.gtin
    good = orders_message("1", "OK", [Line(product.gtin)])
    broken = [*orders_message("2", "KO", [Line(product.gtin)])[:-1], "UNT+3+2'"]
    answer = ingest(session, hub, edifact(good, broken))
    assert answer.body["status"] == "rejected"
    assert session.execute(select(SaleOrder).where(SaleOrder.customer_reference == "OK")).first() is None


class TestValuesDatabasesRefuse:
    def test_nul_characters_in_partner_values_are_stored_replaced(self, session: Session) -> None:
        hub = make_hub(session, gln=None)
        product = make_product(session)
        assert product.gtin
        data = x12_850([Line(product.gtin, 1, qualifier="EN", number="1\x00")], po_number="PO\x00X")
        data = data.replace(b"BUYERX12       ", b"BUYER\x00X12      ")
        answer = ingest(session, hub, data)
        assert answer.body["status"] == "accepted"
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.customer_reference == "PO\ufffdX" and order.lines[0].external_line_no == "1\ufffd"
        assert stored(session, answer.body["id"]).sender_id == "BUYER\ufffdX12"

    def test_a_line_whose_amount_no_order_line_can_hold_is_kept_unresolved(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session, price="99999.00", stock="2000000")
        small = make_product(session)
        assert product.gtin and small.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin, 1_000_000), Line(small.gtin, 2)]))
        assert answer.body["errors"] == []
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert [line.product_code for line in order.lines] == [small.code]
        assert [(u.reason, u.quantity) for u in order.unresolved_lines] == [
            ("amount_out_of_range", "1000000")
        ]
