"""PDF rendering reads bundled assets only, and customer text is printed, never interpreted."""

from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from weasyprint.urls import URLFetcherResponse

import app.pdf
from app.delivery.pdf import (
    BASE_STYLESHEET,
    STYLESHEET,
    AddressView,
    CustomerView,
    DeliveryNoteLineView,
    DeliveryNoteView,
    SellerView,
    delivery_notes_html,
)
from app.pdf import AssetFetcher, AssetRefused, asset_path, render_pdf
from app.templating import environment


class RecordingFetcher(AssetFetcher):
    """The asset fetcher, noting every URL a document asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        self.requested.append(url)
        return super().fetch(url, headers)


def note_for(*, customer_name: str, product_name: str = "Roman") -> DeliveryNoteView:
    address = AddressView(lines=("1 rue Haute",), postal_code="75001", city="Paris")
    return DeliveryNoteView(
        number="BL-2026-000001",
        issue_date=date(2026, 11, 26),
        order_number="CMD-2026-000001",
        seller=SellerView(name="Éditions Carnet", address=address),
        customer=CustomerView(code="C1", name=customer_name, billing_address=address),
        shipping_address=address,
        lines=(
            DeliveryNoteLineView(
                line_no=1,
                product_code="P1",
                gtin="9782070000001",
                name=product_name,
                ordered_quantity=Decimal(1),
                shipped_quantity=Decimal(1),
                backordered_quantity=Decimal(0),
            ),
        ),
    )


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


class TestAssetFetcher:
    @pytest.mark.parametrize(
        "url",
        [
            "file:///etc/passwd",
            "http://127.0.0.1:9/logo.png",
            "https://example.com/style.css",
            "data:text/css,body{}",
            "carnet-asset:../../../etc/passwd",
            "carnet-asset:fonts/../../pdf.py",
            "carnet-asset:/etc/passwd",
            "carnet-asset:%2e%2e/pdf.py",
            "carnet-asset:fonts",
            "carnet-asset:fonts/missing.ttf",
            "CARNET-ASSET:fonts/DejaVuSans.ttf",
        ],
    )
    def test_refuses_anything_but_a_bundled_file(self, url: str) -> None:
        with pytest.raises(AssetRefused):
            AssetFetcher().fetch(url)

    def test_refuses_a_symlink_leading_out_of_the_assets(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "assets").mkdir()
        (tmp_path / "secret.txt").write_text("secret")
        (tmp_path / "assets" / "leak.txt").symlink_to(tmp_path / "secret.txt")
        monkeypatch.setattr(app.pdf, "ASSETS_DIR", tmp_path / "assets")
        with pytest.raises(AssetRefused):
            asset_path("carnet-asset:leak.txt")

    def test_serves_a_bundled_font(self) -> None:
        response = AssetFetcher().fetch("carnet-asset:fonts/DejaVuSans.ttf")
        assert response.read()[:4] == b"\x00\x01\x00\x00"


class TestRenderPdf:
    @pytest.mark.parametrize(
        "html",
        [
            '<img src="file:///etc/passwd">',
            '<img src="http://127.0.0.1:9/pixel.png">',
            '<link rel="stylesheet" href="https://example.com/x.css"><p>x</p>',
            "<style>@import url(file:///etc/passwd);</style><p>x</p>",
            '<p style="background: url(file:///etc/shadow)">x</p>',
            '<img src="data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22/>">',
        ],
    )
    def test_a_document_reaching_outside_the_assets_is_not_rendered(self, html: str) -> None:
        fetcher = RecordingFetcher()
        with pytest.raises(AssetRefused):
            render_pdf(html, url_fetcher=fetcher)
        assert fetcher.requested, "the fetcher saw the request"

    def test_templates_are_autoescaped(self) -> None:
        assert environment.from_string("{{ name }}").render(name="<b>") == "&lt;b&gt;"
        template = environment.get_template("pdf/delivery_note.html")
        assert template.environment.autoescape(template.name)


class TestCustomerTextInDeliveryNote:
    @pytest.mark.parametrize(
        "name",
        ["<img src=file:///etc/passwd>", "<script>alert(1)</script>", '<link href="http://x.invalid/a.css">'],
    )
    def test_markup_in_a_customer_name_prints_as_text_and_fetches_nothing(self, name: str) -> None:
        fetcher = RecordingFetcher()
        pdf = render_pdf(
            delivery_notes_html([note_for(customer_name=name, product_name=name)]),
            stylesheets=(STYLESHEET,),
            base_stylesheet=BASE_STYLESHEET,
            url_fetcher=fetcher,
        )
        assert pdf_text(pdf).count(name) == 2
        assert fetcher.requested == []
