"""Invoice XML for the ERP and for archiving: UBL 2.1 and Factur-X / CII (EN 16931)."""

from app.replay.formats.cii import build_cii, cii_bytes
from app.replay.formats.common import UnsupportedDocument
from app.replay.formats.ubl import build_ubl, ubl_bytes

__all__ = ["UnsupportedDocument", "build_cii", "build_ubl", "cii_bytes", "ubl_bytes"]
