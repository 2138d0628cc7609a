"""Settings, read once from `CARNET_` environment variables."""

import ipaddress
import math
import zlib
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from stdnum.eu import vat
from stdnum.fr import siren, siret

DEVELOPMENT_SECRET = "development-only-secret-change-me-in-production"
# The key signs every token and desk session: whoever guesses it signs in as anybody. In production it
# must look random: long enough, many distinct characters, and 128 bits by a frequency estimate.
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 12
MIN_SECRET_BITS = 128
SECRET_ADVICE = (
    "CARNET_SECRET_KEY must be a random secret of at least 32 characters and 128 bits, for example "
    "the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARNET_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/carnet.db"
    # FULL: a committed order survives a power cut, not only a process crash (WAL + NORMAL does not).
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    secret_key: str = DEVELOPMENT_SECRET
    token_ttl_minutes: int = 12 * 60
    max_body_bytes: int = 1_048_576
    max_edi_body_bytes: int = 20 * 1_048_576
    order_number_prefix: str = "CMD"
    delivery_note_prefix: str = "BL"
    return_prefix: str = "RET"
    deferred_invoice_prefix: str = "DI"
    deferred_credit_note_prefix: str = "DC"
    # Document dates (a delivery note's date, the year of its number) are the seller's calendar days.
    business_timezone: str = "Europe/Paris"
    # The seller block printed on delivery notes; the defaults are the demo company's.
    seller_name: str = "Carnet Diffusion SAS"
    seller_street: str = "12 rue des Imprimeurs"
    seller_street2: str | None = None
    seller_postal_code: str = "69002"
    seller_city: str = "Lyon"
    seller_country: str = "FR"
    seller_vat_number: str | None = "FR96552100554"
    seller_code: str = "CARNET"
    # How a customer reaches the seller, on the order status page (none shown when unset).
    seller_phone: str | None = Field(default=None, max_length=40)
    seller_email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    # SIREN (or SIRET) of the seller, and its GS1 location number, for invoices sent to the ERP.
    seller_legal_id: str | None = None
    # Printed under the seller on invoices: legal form, share capital, RCS registration.
    seller_legal_mentions: str | None = None
    # The seller opted to pay VAT on debits (a mandatory invoice mention from September 2026).
    seller_vat_on_debits: bool = False
    seller_gln: str | None = None
    # Printed on replayed invoices: French law wants the due date and the late-payment terms stated.
    payment_terms_days: int = 30
    payment_terms: str = "Paiement à 30 jours date de facture"
    # The three mentions every French invoice and credit note carries, each also a note of its XML
    # with its subject code (PMD, PMT, AAB; CTC-FR rule BR-FR-05).
    late_penalties_mention: str = "Pénalités de retard : 3 fois le taux d'intérêt légal"
    recovery_indemnity_mention: str = "Indemnité forfaitaire pour frais de recouvrement : 40 €"
    early_payment_mention: str = "Pas d'escompte pour paiement anticipé."
    erp_url: str | None = None
    erp_secret: str | None = None
    erp_connect_timeout_seconds: float = 3.0
    erp_read_timeout_seconds: float = 15.0
    # Who gives replayed invoices their final number: the ERP at replay (`erp`), or Carnet from a series
    # reserved for the outage (`carnet`: FAD-2026-000001...), assigned in send order.
    invoice_numbering: Literal["erp", "carnet"] = "erp"
    outage_invoice_prefix: str = "FAD"
    outage_credit_note_prefix: str = "AAD"
    # One invoice per delivery note, or one recap invoice per customer and month over its notes.
    invoice_grouping: Literal["per_delivery_note", "monthly_recap"] = "per_delivery_note"
    # With monthly recaps, the day of the month from which /system warns that the month's recap
    # invoices are due at its end (a per-note invoice is due at delivery: warned from delivery on).
    recap_warning_day: int = Field(default=25, ge=1, le=28)
    replay_connector: Literal["http", "files"] = "http"
    replay_folder: Path = Path("var/replay")
    replay_batch_size: int = 200
    replay_send_threads: int = 8
    replay_max_attempts: int = 10
    replay_backoff_base_seconds: float = 0.5
    replay_backoff_cap_seconds: float = 60.0
    # A run writes a heartbeat; past `replay_lock_ttl_seconds` without one it is taken for crashed and
    # another run may start. Items claimed but unanswered for `replay_lease_seconds` are sent again.
    replay_heartbeat_seconds: float = 2.0
    replay_lock_ttl_seconds: float = 30.0
    replay_lease_seconds: float = 300.0
    # The mailbox reps' orders arrive in (imaps://user:password@host/folder); polled by each server
    # process every `imap_poll_seconds` when set, or by `carnet mail poll`.
    imap_url: str | None = None
    imap_poll_seconds: float = 60.0
    # Customer notices by email (order confirmed, shipped, backorder shipped): `off`, `opt_in` (the
    # customers whose `email_notices` is set) or `all` (every customer with an email address).
    customer_notices: Literal["off", "opt_in", "all"] = "off"
    notice_lang: Literal["fr", "en"] = "fr"
    notice_window_hours: float = 72.0  # orders and notes older than this never get a notice
    notice_poll_seconds: float = 15.0
    notice_retry_seconds: float = 30.0
    notice_max_attempts: int = 12
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "commandes@carnet-diffusion.example"
    # The address customers reach this service at, for the status links in notices.
    public_url: str = "http://127.0.0.1:8000"
    # Logs on stderr: one JSON object per line (`json`) or text for a person (`plain`); `auto`: plain
    # when stderr is a terminal, JSON otherwise (a service manager, a container, a file).
    log_format: Literal["auto", "json", "plain"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Who reads GET /metrics: a caller sending `Authorization: Bearer <metrics_token>`, or one from
    # these networks (comma-separated, `10.0.0.0/8,::1`); unset: loopback, and none in production.
    metrics_token: str | None = None
    metrics_networks: str | None = None

    @field_validator("metrics_networks")
    @classmethod
    def _networks_parse(cls, value: str | None) -> str | None:
        for network in (value or "").split(","):
            if network.strip():
                ipaddress.ip_network(network.strip(), strict=False)  # ValueError names the culprit
        return value

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> "Settings":
        if self.environment == "production":
            weakness = secret_weakness(self.secret_key)
            if weakness is not None:
                raise ValueError(f"{SECRET_ADVICE}; the one given {weakness}")
            _check_seller_identity(self)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(path) if path and path != ":memory:" else None


@lru_cache
def get_settings() -> Settings:
    return Settings()


def secret_weakness(secret: str) -> str | None:
    """What makes a signing key unfit for production, None when it looks random enough."""
    if secret == DEVELOPMENT_SECRET:
        return "is the development key, which is public"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"has {len(secret)} characters"
    if len(set(secret)) < MIN_SECRET_DISTINCT:
        return f"uses only {len(set(secret))} distinct characters"
    if estimated_bits(secret) < MIN_SECRET_BITS:
        return f"has about {estimated_bits(secret):.0f} bits"
    # A pattern repeated compresses well; random characters hardly at all (hex to about 80 %).
    if len(zlib.compress(secret.encode(), 9)) - len(zlib.compress(b"", 9)) < 0.6 * len(secret.encode()):
        return "repeats itself"
    return None


def estimated_bits(secret: str) -> float:
    """Length times the entropy of the secret's character frequencies: a repeated pattern or a few
    letters score low. An upper bound for a secret chosen by a person, fair for a generated one."""
    size = len(secret)
    return -size * sum(n / size * math.log2(n / size) for n in Counter(secret).values())


def _check_seller_identity(settings: Settings) -> None:
    """Invoices need the seller's legal identity: refuse to start without a valid one in production."""
    missing = [
        f"CARNET_{name.upper()}"
        for name in ("seller_legal_id", "seller_vat_number", "seller_legal_mentions")
        if not getattr(settings, name)
    ]
    if missing:
        raise ValueError(f"invoices need the seller's identity: set {', '.join(missing)}")
    legal_id = str(settings.seller_legal_id).replace(" ", "")
    if not (siren.is_valid(legal_id) or siret.is_valid(legal_id)):
        raise ValueError(f"CARNET_SELLER_LEGAL_ID {legal_id!r} is neither a SIREN nor a SIRET")
    if not vat.is_valid(str(settings.seller_vat_number)):
        raise ValueError(f"CARNET_SELLER_VAT_NUMBER {settings.seller_vat_number!r} is not a valid VAT number")
