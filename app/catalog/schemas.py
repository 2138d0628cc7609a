"""API and import shapes of master data, with identifier check digits verified by python-stdnum."""

import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from stdnum import ean, isbn
from stdnum.eu import vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren

from app.money import money_str, price_str, quantity_out, rate_str

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
RateOut = Annotated[Decimal, PlainSerializer(rate_str, return_type=str)]
MoneyOut = Annotated[Decimal, PlainSerializer(money_str, return_type=str)]
PriceOut = Annotated[Decimal, PlainSerializer(price_str, return_type=str)]
QuantityOut = Annotated[Decimal, PlainSerializer(quantity_out)]


def normalize_gtin(value: str) -> str:
    """A GTIN-8/12/13/14 or ISBN-10/13, returned as its 13- or 14-digit GTIN (ISBN-10 becomes 978...)."""
    compact = value.replace("-", "").replace(" ", "").strip()
    try:
        if len(compact) == 10:
            return isbn.to_isbn13(isbn.validate(compact)).replace("-", "")
        compact = ean.validate(compact)
    except StdnumError as exc:
        raise ValueError(f"not a valid GTIN/ISBN ({exc})") from exc
    return compact.zfill(13) if len(compact) < 13 else compact


def supplier_code_of(name: str) -> str:
    """`Éditions du Seuil` -> `EDITIONS-DU-SEUIL`: a code from a supplier's name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9]+", "-", ascii_name.upper()).strip("-")[:32].rstrip("-") or "SANS-NOM"


def normalize_gln(value: str) -> str:
    compact = value.strip()
    if len(compact) != 13:
        raise ValueError("a GLN has 13 digits")
    try:
        return ean.validate(compact)
    except StdnumError as exc:
        raise ValueError(f"not a valid GLN ({exc})") from exc


def normalize_vat_number(value: str) -> str:
    try:
        return vat.validate(value)
    except StdnumError as exc:
        raise ValueError(f"not a valid EU VAT number ({exc})") from exc


def normalize_siren(value: str) -> str:
    """A SIREN (9 digits, Luhn check digit), spaces dropped; a SIRET gives its SIREN."""
    compact = value.replace(" ", "").replace(".", "").strip()
    if len(compact) == 14:
        compact = compact[:9]
    try:
        return str(siren.validate(compact))
    except StdnumError as exc:
        raise ValueError(f"not a valid SIREN ({exc})") from exc


Gtin = Annotated[str, AfterValidator(normalize_gtin)]
Siren = Annotated[str, AfterValidator(normalize_siren)]
Gln = Annotated[str, AfterValidator(normalize_gln)]
VatNumber = Annotated[str, AfterValidator(normalize_vat_number)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=200)
    street: str = Field(min_length=1, max_length=200)
    street2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    country: Country = "FR"


class ShippingAddressIn(Address):
    code: Code
    gln: Gln | None = None
    is_default: bool = Field(
        default=False, description="where an order naming no address ships (an only address is the default)"
    )


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Code
    name: str = Field(min_length=1, max_length=200)
    siren: Siren | None = None
    vat_number: VatNumber | None = None
    gln: Gln | None = None
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40)
    billing_address: Address
    shipping_addresses: list[ShippingAddressIn] = Field(default_factory=list, max_length=200)
    discount_percent: Percent = Decimal(0)
    blocked: bool = False
    show_prices_on_delivery_note: bool = True

    @field_validator("shipping_addresses")
    @classmethod
    def _unique_codes(cls, value: list[ShippingAddressIn]) -> list[ShippingAddressIn]:
        codes = [address.code for address in value]
        if len(codes) != len(set(codes)):
            raise ValueError("shipping address codes must be unique")
        if sum(address.is_default for address in value) > 1:
            raise ValueError("at most one shipping address may be the default")
        return value


class ShippingAddressRead(Address):
    code: str
    gln: str | None
    is_default: bool


class CustomerRead(BaseModel):
    code: str
    name: str
    siren: str | None
    vat_number: str | None
    gln: str | None
    email: str | None
    phone: str | None
    billing_address: Address
    shipping_addresses: list[ShippingAddressRead]
    discount_percent: RateOut
    blocked: bool
    show_prices_on_delivery_note: bool
    snapshot_at: datetime


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Code
    gtin: Gtin | None = None
    name: str = Field(min_length=1, max_length=300)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=4)
    price_includes_vat: bool = False
    price_locked: bool = False
    vat_rate: Percent
    allows_decimal_quantity: bool = False
    stock_on_hand: Decimal = Field(default=Decimal(0), max_digits=14, decimal_places=3)
    stock_as_of: datetime | None = None
    supplier_code: Code | None = None
    supplier_name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _supplier_code_from_name(self) -> "ProductCreate":
        """An export that names the publisher (`Editeur`) without its code: the code is made from the
        name, so that a publisher's titles are found together."""
        if self.supplier_name and not self.supplier_code:
            self.supplier_code = supplier_code_of(self.supplier_name)
        return self


class ProductRead(BaseModel):
    code: str
    gtin: str | None
    name: str
    unit_price: PriceOut
    price_includes_vat: bool
    price_locked: bool
    vat_rate: RateOut
    allows_decimal_quantity: bool
    stock_on_hand: QuantityOut
    reserved_quantity: QuantityOut
    available_quantity: QuantityOut
    stock_as_of: datetime
    supplier_code: str | None
    supplier_name: str | None


class StockLevel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Code
    stock_on_hand: Decimal = Field(max_digits=14, decimal_places=3)
