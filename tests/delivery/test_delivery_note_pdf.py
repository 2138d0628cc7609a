"""Delivery note PDFs, read back with pypdf: what the warehouse prints must say what was shipped."""

from dataclasses import replace
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader

from app.delivery.pdf import (
    AddressView,
    CustomerView,
    DeliveryNoteLineView,
    DeliveryNoteView,
    LinePrices,
    SellerView,
    delivery_notes_html,
    render_delivery_note,
    render_delivery_notes,
    render_delivery_notes_parallel,
)
from app.pricing import Totals, VatLine
from app.templating import (
    Lang,
    format_amount,
    format_date,
    format_money,
    format_price,
    format_quantity,
    format_rate,
)

SELLER = SellerView(
    name="Éditions Carnet SARL",
    address=AddressView(lines=("12 rue des Lilas",), postal_code="75011", city="Paris"),
    vat_number="FR32123456789",
)
CUSTOMER = CustomerView(
    code="C0042",
    name="Librairie du Marché",
    billing_address=AddressView(lines=("3 place du Marché",), postal_code="69002", city="Lyon"),
    vat_number="FR11987654321",
)


def make_line(line_no: int, *, backordered: int = 0) -> DeliveryNoteLineView:
    return DeliveryNoteLineView(
        line_no=line_no,
        product_code=f"P{line_no:05d}",
        gtin=f"978207{line_no:07d}",
        name=f"Roman tome {line_no}",
        ordered_quantity=Decimal(6),
        shipped_quantity=Decimal(6 - backordered),
        backordered_quantity=Decimal(backordered),
        prices=LinePrices(
            unit_price=Decimal("12.50"),
            discounts=(),
            net_unit_price=Decimal("12.50"),
            amount=Decimal("12.50") * (6 - backordered),
        ),
    )


def make_note_view(
    *,
    number: str = "BL-2026-000001",
    lines: int = 3,
    show_prices: bool = False,
    lang: Lang = "fr",
    copy_number: int | None = 1,
    is_void: bool = False,
    customer: CustomerView = CUSTOMER,
) -> DeliveryNoteView:
    note_lines = tuple(make_line(n, backordered=2 if n % 3 == 0 else 0) for n in range(1, lines + 1))
    net = sum((line.prices.amount for line in note_lines if line.prices), Decimal(0))
    vat = (net * Decimal("0.055")).quantize(Decimal("0.01"))
    totals = Totals(net=net, vat=vat, gross=net + vat, vat_breakdown=(VatLine(Decimal("5.5"), net, vat),))
    return DeliveryNoteView(
        number=number,
        issue_date=date(2026, 11, 26),
        order_number="CMD-2026-000417",
        seller=SELLER,
        customer=customer,
        shipping_address=AddressView(
            lines=("Entrepôt Nord", "ZI des Marais"), postal_code="69120", city="Vaulx-en-Velin"
        ),
        lines=note_lines,
        customer_reference="PO-7781",
        show_prices=show_prices,
        totals=totals if show_prices else None,
        copy_number=copy_number,
        is_void=is_void,
        lang=lang,
    )


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(pdf)).pages]


def line_row(text: str, line: DeliveryNoteLineView) -> str:
    """The printed row of a line: pypdf gives each table row on one text line."""
    start = f"{line.line_no} {line.product_code} {line.gtin} {line.name} "
    return next(row for row in text.splitlines() if row.startswith(start))


class TestFormatting:
    def test_french_amounts_group_thousands_and_end_with_the_euro_sign(self) -> None:
        assert format_money(Decimal("1234.5")) == "1\u202f234,50\u00a0€"
        assert format_money(Decimal("-0.005")) == "-0,01\u00a0€"

    def test_english_amounts_start_with_the_euro_sign(self) -> None:
        assert format_money(Decimal("1234.5"), "en") == "€1,234.50"
        assert format_money(Decimal("-1234567.891"), "en") == "-€1,234,567.89"

    def test_table_cells_print_amounts_and_unit_prices_without_the_euro_sign(self) -> None:
        assert format_amount(Decimal("1234.5")) == "1\u202f234,50"
        assert format_price(Decimal("39.9119")) == "39,9119"
        assert format_price(Decimal("14.8850"), "en") == "14.885"
        assert format_price(Decimal("12.5000")) == "12,50"

    def test_quantities_drop_trailing_zeros(self) -> None:
        assert format_quantity(Decimal("12.000")) == "12"
        assert format_quantity(Decimal("2.50")) == "2,5"
        assert format_quantity(1000, "en") == "1,000"

    def test_rates_and_dates_follow_the_language(self) -> None:
        assert format_rate(Decimal("5.50")) == "5,5\u202f%"
        assert format_rate(Decimal("20"), "en") == "20%"
        assert format_date(date(2026, 1, 5)) == "05/01/2026"
        assert format_date(date(2026, 1, 5), "en") == "5 Jan 2026"


class TestDeliveryNoteView:
    def test_showing_prices_without_totals_is_refused(self) -> None:
        with pytest.raises(ValueError, match="totals"):
            DeliveryNoteView(
                number="BL-2026-000001",
                issue_date=date(2026, 11, 26),
                order_number="CMD-2026-000417",
                seller=SELLER,
                customer=CUSTOMER,
                shipping_address=CUSTOMER.billing_address,
                lines=(make_line(1),),
                show_prices=True,
            )


class TestRenderDeliveryNote:
    def test_prints_number_customer_references_and_each_line_quantities(self) -> None:
        view = make_note_view(lines=6)
        (text,) = page_texts(render_delivery_note(view))
        for expected in ("Bon de livraison", view.number, "C0042", "Librairie du Marché", "Entrepôt Nord"):
            assert expected in text
        assert "CMD-2026-000417" in text and "PO-7781" in text and "26/11/2026" in text
        for line in view.lines:
            quantities = [line.ordered_quantity, line.shipped_quantity]
            if line.backordered_quantity:
                quantities.append(line.backordered_quantity)
            assert line_row(text, line).endswith(" ".join(format_quantity(q) for q in quantities))

    def test_a_reference_of_one_long_word_wraps_in_its_column_instead_of_leaving_the_page(self) -> None:
        reference = "PO" + "7" * 98  # as long as the order form lets a rep type it, with no space
        view = replace(make_note_view(show_prices=True), customer_reference=reference)
        (text,) = page_texts(render_delivery_note(view))
        assert reference not in text and reference in text.replace("\n", "")
        for line in view.lines:  # the EAN and the title stay apart: 13 digits fit their column
            assert f"{line.gtin} {line.name}" in line_row(text, line)

    def test_prices_and_totals_are_printed_when_the_customer_sees_prices(self) -> None:
        view = make_note_view(lines=4, show_prices=True)
        assert view.totals is not None
        (text,) = page_texts(render_delivery_note(view))
        for line in view.lines:
            assert line.prices is not None
            row = line_row(text, line)
            unit, net = format_price(line.prices.unit_price), format_price(line.prices.net_unit_price)
            assert row.endswith(f"{unit} {net} {format_amount(line.prices.amount)}")
        assert f"Total HT {format_money(view.totals.net)}" in text
        assert f"TVA 5,5\u202f% ({format_money(view.totals.net)}) {format_money(view.totals.vat)}" in text
        assert f"Total TTC {format_money(view.totals.gross)}" in text

    def test_no_price_nor_total_when_the_customer_does_not_see_prices(self) -> None:
        (text,) = page_texts(render_delivery_note(make_note_view(lines=4)))
        for absent in ("€", "P.U. HT", "Remise", "Montant HT", "Total HT", "TVA 5,5", "Total TTC"):
            assert absent not in text

    def test_invoice_to_follow_is_mentioned(self) -> None:
        (text,) = page_texts(render_delivery_note(make_note_view()))
        assert "Facture à suivre" in text

    def test_a_reprint_carries_the_duplicate_mark(self) -> None:
        (reprint,) = page_texts(render_delivery_note(make_note_view(copy_number=2)))
        (original,) = page_texts(render_delivery_note(make_note_view()))
        assert "DUPLICATA n° 2" in reprint
        assert "DUPLICATA" not in original

    def test_a_void_note_is_marked_void(self) -> None:
        (text,) = page_texts(render_delivery_note(make_note_view(is_void=True, lang="en")))
        assert "VOID" in text

    def test_english_variant_translates_labels_amounts_and_dates(self) -> None:
        view = make_note_view(show_prices=True, lang="en", copy_number=3)
        assert view.totals is not None
        (text,) = page_texts(render_delivery_note(view))
        for expected in ("Delivery note", "Invoice to follow", "DUPLICATE no. 3", "26 Nov 2026", "SHIP TO"):
            assert expected in text
        assert f"Total incl. VAT {format_money(view.totals.gross, 'en')}" in text
        for french in ("Bon de livraison", "Facture à suivre", "DUPLICATA", "Total TTC"):
            assert french not in text

    def test_a_200_line_note_spans_pages_numbered_one_of_n(self) -> None:
        view = make_note_view(lines=200)
        texts = page_texts(render_delivery_note(view))
        pages = len(texts)
        assert pages > 1
        for index, text in enumerate(texts, start=1):
            assert f"page {index}/{pages}" in text
            assert view.number in text
        whole = "\n".join(texts)
        for line in view.lines:
            line_row(whole, line)
        assert "Facture à suivre" in texts[-1]

    def test_imported_text_with_control_characters_still_prints(self) -> None:
        customer = replace(CUSTOMER, name="Librairie\x0b du\x01 Port <b>&amp;</b>")
        text = "\n".join(page_texts(render_delivery_note(make_note_view(customer=customer))))
        assert "Librairie du Port <b>&amp;</b>" in text

    def test_the_qr_code_is_inline_vector_markup(self) -> None:
        html = delivery_notes_html([make_note_view()])
        # With its namespace: the note is parsed as XML, and WeasyPrint draws only namespaced SVG.
        assert html.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 21 21" class="qr">') == 1


class TestRenderDeliveryNotes:
    def test_a_batch_is_one_pdf_with_numbering_restarting_per_note(self) -> None:
        views = [
            make_note_view(number="BL-2026-000001", lines=3),
            make_note_view(number="BL-2026-000002", lines=70),
            make_note_view(number="BL-2026-000003", lines=3, lang="en"),
        ]
        texts = page_texts(render_delivery_notes(views))
        long_note_pages = [text for text in texts if "BL-2026-000002" in text]
        assert len(long_note_pages) >= 2
        assert len(texts) == 2 + len(long_note_pages)
        assert "BL-2026-000001" in texts[0] and "page 1/1" in texts[0]
        for index, text in enumerate(long_note_pages, start=1):
            assert f"page {index}/{len(long_note_pages)}" in text
        assert "BL-2026-000003" in texts[-1] and "page 1/1" in texts[-1] and "Delivery note" in texts[-1]

    @pytest.mark.parametrize("processes", [1, 2])
    def test_chunked_rendering_keeps_every_note_in_order(self, processes: int) -> None:
        views = [make_note_view(number=f"BL-2026-{n:06d}", lines=2) for n in range(1, 6)]
        texts = page_texts(render_delivery_notes_parallel(views, processes=processes, chunk_size=2))
        assert len(texts) == 5
        for view, text in zip(views, texts, strict=True):
            assert view.number in text and "page 1/1" in text

    def test_an_empty_batch_is_refused(self) -> None:
        with pytest.raises(ValueError, match="no delivery note"):
            render_delivery_notes([])
