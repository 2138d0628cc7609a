"""API shapes of EDI: the ingestion answer, interchanges and acknowledgments, partner mappings."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.catalog.schemas import Code, Gtin, QuantityOut
from app.edi.charsets import charset_name
from app.edi.csv_orders import (
    FLAT_ORDERS_PROFILE,
    FRENCH_HEADER_PROFILE,
    CsvField,
    CsvProfile,
    normalize_header,
)
from app.edi.documents import DocumentFormat
from app.orders.schemas import OrderQuantity

NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]+$"
BUILT_IN_PROFILES = {p.name: p for p in (FLAT_ORDERS_PROFILE, FRENCH_HEADER_PROFILE)}


class LocatedIssue(BaseModel):
    """An error or warning of an interchange: where (segment, element, line...) and why."""

    loc: str
    msg: str
    code: str
    party_id: str | None = Field(
        default=None, description="for an unknown buyer, its id as sent: what an admin maps to a customer"
    )


class MessageOutcome(BaseModel):
    po_number: str
    message_ref: str | None = None
    interchange_ref: str | None = None
    status: str  # captured | needs_review | refused
    order: str | None = None
    customer_code: str | None = None
    errors: list[LocatedIssue] = []
    problems: list[str] = []


class AcknowledgmentRead(BaseModel):
    id: int
    kind: str  # CONTRL | ORDRSP | 997 | 855 | JSON
    control_ref: str
    po_number: str | None
    order_number: str | None
    content_type: str
    created_at: datetime
    url: str


class OutboxItem(BaseModel):
    """A document for the partner, in the order a transport sends them: acknowledgments, order
    responses, despatch advices."""

    id: int
    kind: str  # CONTRL | ORDRSP | APERAK | DESADV | 997 | 855 | 824 | 856 | JSON
    interchange_id: int
    control_ref: str
    po_number: str | None
    order_number: str | None
    delivery_note_number: str | None
    content_type: str
    created_at: datetime
    url: str


class PartnerOrderLine(BaseModel):
    line_no: int
    external_line_no: str | None = Field(description="the partner's own line number")
    product_code: str
    gtin: str | None
    description: str
    ordered: QuantityOut
    shipped: QuantityOut
    backordered: QuantityOut


class PartnerUnresolvedLine(BaseModel):
    """A line the partner sent that is not an order line (yet): its own values, and what became of it."""

    external_line_no: str | None
    items: list[dict[str, Any]]
    quantity: str
    reason: str
    status: str  # open | mapped | corrected | removed
    order_line_no: int | None


class PartnerDeliveryNoteLine(BaseModel):
    order_line_no: int
    quantity: QuantityOut


class PartnerDeliveryNote(BaseModel):
    number: str
    status: str
    issue_date: date
    lines: list[PartnerDeliveryNoteLine]


class PartnerOrder(BaseModel):
    """Where one of the partner's customers' orders stands: what shipped, what is backordered, in
    which delivery notes."""

    number: str
    status: str
    channel: str
    customer_code: str
    po_number: str | None
    created_at: datetime
    requested_date: date | None
    lines: list[PartnerOrderLine]
    unresolved_lines: list[PartnerUnresolvedLine]
    delivery_notes: list[PartnerDeliveryNote]


class InterchangeAnswer(BaseModel):
    """What `POST /edi/interchanges` answers (and answers again, with 200, to a resend)."""

    id: int
    format: str | None
    charset: str | None = Field(description="what the bytes were read as (utf-8, windows-1252...)")
    status: str
    orders: list[str]
    acknowledgment_url: str | None
    acknowledgments_url: str
    errors: list[LocatedIssue]
    warnings: list[LocatedIssue]
    messages: list[MessageOutcome]


class InterchangeRead(InterchangeAnswer):
    partner: str
    received_at: datetime
    received_by: str
    content_type: str | None
    size: int
    sha256: str
    control_ref: str | None
    sender_id: str | None
    test: bool
    duplicate_of: int | None
    resubmitted_as: int | None = Field(
        default=None, description="a refused file an admin had processed again: the interchange it became"
    )
    resubmitted_from: int | None = Field(
        default=None, description="made by an admin from a refused file: that file's interchange"
    )
    processed_at: datetime | None
    acknowledgments: list[AcknowledgmentRead]


class InterchangeSummary(BaseModel):
    id: int
    partner: str
    received_at: datetime
    status: str
    format: str | None
    control_ref: str | None
    size: int
    orders: list[str]
    duplicate_of: int | None
    url: str
    sender_id: str | None = None
    error_count: int = 0
    warning_count: int = 0
    first_error: str | None = None  # what a person reads first in a list of refused files
    first_error_code: str | None = None


class PartyMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party_id: str = Field(
        min_length=1,
        max_length=35,
        pattern=NO_CONTROL_CHARACTERS,
        description="the partner's id: GLN, N104...",
    )
    customer_code: Code
    shipping_address_code: Code | None = None


class PartyMappingRead(BaseModel):
    party_id: str
    customer_code: str
    shipping_address_code: str | None


class ItemMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(
        min_length=1, max_length=35, pattern=NO_CONTROL_CHARACTERS, description="the partner's article number"
    )
    product_code: Code


class ItemMappingRead(BaseModel):
    item_id: str
    product_code: str


Reason = Annotated[
    str,
    Field(min_length=1, max_length=500, pattern=NO_CONTROL_CHARACTERS, description="why: kept with the line"),
]


class LineMappingIn(BaseModel):
    """The product an unresolved line is for (its quantity: the partner's, unless given)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_code: Code | None = None
    gtin: Gtin | None = None
    quantity: OrderQuantity | None = None
    reason: Reason

    @model_validator(mode="after")
    def _names_a_product(self) -> "LineMappingIn":
        if (self.product_code is None) == (self.gtin is None):
            raise ValueError("give product_code or gtin")
        return self


class LineCorrectionIn(BaseModel):
    """The right quantity of an unresolved line whose item is known."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    quantity: OrderQuantity
    reason: Reason


class LineRemovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason


class CsvProfileIn(BaseModel):
    """A partner's CSV layout. `name` alone, naming a built-in layout, selects it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    decimal_mark: Literal[".", ","] = "."
    encoding: str = "utf-8"
    fallback_encoding: str | None = None
    has_header: bool = False
    columns: dict[CsvField, int] = Field(default_factory=dict, description="0-based, headerless layouts")
    headers: dict[CsvField, list[str]] = Field(default_factory=dict, description="accepted header names")
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d", "%Y%m%d"], max_length=10)
    test_values: list[str] = Field(default_factory=lambda: ["1"], max_length=10)

    @field_validator("columns")
    @classmethod
    def _positions(cls, value: dict[CsvField, int]) -> dict[CsvField, int]:
        if any(not 0 <= index < 500 for index in value.values()):
            raise ValueError("column positions are 0 to 499")
        return value

    def is_built_in(self) -> bool:
        return self.name in BUILT_IN_PROFILES and not self.columns and not self.headers

    def to_profile(self) -> CsvProfile:
        """The parser's profile; raises ValueError or LookupError when the layout is unusable."""
        if self.is_built_in():
            return BUILT_IN_PROFILES[self.name]
        return CsvProfile(
            name=self.name,
            delimiter=self.delimiter,
            quotechar=self.quotechar,
            decimal_mark=self.decimal_mark,
            encoding=self.encoding,
            fallback_encoding=self.fallback_encoding,
            has_header=self.has_header,
            columns=dict(self.columns),
            headers={key: tuple(normalize_header(n) for n in names) for key, names in self.headers.items()},
            date_formats=tuple(self.date_formats),
            test_values=tuple(self.test_values),
        )


class PartnerProfileIn(BaseModel):
    """How a partner's files are read, applied before any sniffing, and what it gets back. PUT
    replaces the whole profile, its CSV layout included (the same as `/csv-profile`)."""

    model_config = ConfigDict(extra="forbid")

    format: DocumentFormat | None = Field(
        default=None, description="the format of its files that carry no signature; none: recognised"
    )
    charset: str | None = Field(
        default=None,
        max_length=30,
        description="the character set of its CSV and X12 text; none: UTF-8, else Windows-1252, said",
    )
    despatch_advice: bool = Field(
        default=False, description="a DESADV (EDIFACT orders) or 856 (X12 orders) on every shipment"
    )
    csv: CsvProfileIn | None = None

    @field_validator("charset")
    @classmethod
    def _known_charset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return charset_name(value)
        except LookupError as exc:
            raise ValueError(f"unknown character set {value!r}") from exc


def csv_profile_from_json(stored: dict[str, Any] | None) -> CsvProfile | None:
    """The profile stored on a partner (None: recognise a built-in layout from the data)."""
    if not stored:
        return None
    return CsvProfileIn.model_validate(stored).to_profile()
