"""The neutral document's JSON: what the HTTP connector sends and the outbox keeps."""

from dataclasses import replace
from decimal import Decimal

import orjson
import pytest

from app.pricing import Totals
from app.replay.documents import DocumentKind, DocumentReferences, ErpDocument
from app.replay.formats.samples import sample_credit_note, sample_invoice, sample_order, sample_replay


def invoice() -> ErpDocument:
    return sample_invoice(
        3, order_numbers=("CMD-2026-000003",), delivery_note_numbers=("BL-2026-000003", "BL-2026-000004")
    )


class TestJsonForm:
    def test_money_is_two_decimal_strings_and_rates_short_strings(self) -> None:
        body = orjson.loads(invoice().to_json())
        assert body["kind"] == "invoice"
        assert body["currency"] == "EUR"
        totals = body["totals"]
        assert all(
            isinstance(totals[k], str) and len(totals[k].split(".")[1]) == 2 for k in ("net", "vat", "gross")
        )
        rates = {v["rate"] for v in totals["vat_breakdown"]}
        assert rates <= {"20", "10", "5.5", "2.1"}
        assert body["references"]["delivery_note_numbers"] == ["BL-2026-000003", "BL-2026-000004"]

    def test_quantities_are_numbers_when_whole_and_strings_when_not(self) -> None:
        document = invoice()
        lines = (replace(document.lines[0], quantity=Decimal("2.5")), *document.lines[1:])
        body = orjson.loads(replace(document, lines=lines).to_json())
        assert body["lines"][0]["quantity"] == "2.5"
        assert isinstance(body["lines"][1]["quantity"], int)

    def test_unit_prices_keep_their_four_decimals(self) -> None:
        body = orjson.loads(sample_order(3).to_json())
        cable = next(line for line in body["lines"] if line["product_code"] == "ELE-000001")
        assert cable["unit_price"] == "4.1667"

    @pytest.mark.parametrize("document", sample_replay(4), ids=lambda d: d.reference)
    def test_the_outbox_round_trip_gives_back_the_same_document_and_bytes(
        self, document: ErpDocument
    ) -> None:
        rebuilt = ErpDocument.from_json(document.to_json())
        assert rebuilt == document
        # The ERP compares bodies under one idempotency key: a rebuilt document must send the same bytes.
        assert rebuilt.to_json() == document.to_json()


class TestConsistency:
    def test_totals_that_do_not_add_up_are_refused_where_the_document_is_built(self) -> None:
        document = invoice()
        wrong = Totals(
            net=document.totals.net,
            vat=document.totals.vat,
            gross=document.totals.gross + Decimal("0.01"),
            vat_breakdown=document.totals.vat_breakdown,
        )
        with pytest.raises(ValueError, match="gross"):
            replace(document, totals=wrong)

    def test_a_credit_note_must_name_its_invoice(self) -> None:
        credit_note = sample_credit_note(1, invoice=invoice())
        assert credit_note.kind is DocumentKind.CREDIT_NOTE
        with pytest.raises(ValueError, match="corrects"):
            replace(credit_note, references=DocumentReferences())
