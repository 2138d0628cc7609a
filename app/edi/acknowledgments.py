"""Acknowledgments of received interchanges: pure functions from what was parsed to bytes.

* :func:`edifact_contrl` — CONTRL syntax report, positive or negative (UCI/UCF/UCM/UCS/UCD);
* :func:`eancom_ordrsp` — EANCOM ORDRSP order response with a status per line;
* :func:`eancom_aperak` — EANCOM APERAK: the application errors of a refused or held order;
* :func:`x12_997` — X12 997 functional acknowledgment (AK1..AK9, AK3/AK4 for errors);
* :func:`x12_855` — X12 855 purchase order acknowledgment (BAK, PO1/ACK per line);
* :func:`x12_824` — X12 824 application advice: X12's APERAK (OTI, a TED per error).

Control numbers and the clock come from the caller (:class:`AckControl`) so the output is
reproducible and numbers stay gapless in Carnet's own counters.
"""

from app.edi.ack_common import AckControl, ApplicationError, LineOutcome, LineStatus
from app.edi.ack_edifact import (
    eancom_aperak,
    eancom_ordrsp,
    edifact_contrl,
    syntax_error_code,
)
from app.edi.ack_x12 import x12_824, x12_855, x12_997

__all__ = [
    "AckControl",
    "ApplicationError",
    "LineOutcome",
    "LineStatus",
    "eancom_aperak",
    "eancom_ordrsp",
    "edifact_contrl",
    "syntax_error_code",
    "x12_824",
    "x12_855",
    "x12_997",
]
