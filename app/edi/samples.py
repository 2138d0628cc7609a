"""Deterministic EANCOM ORDERS interchanges for benchmarks and tests.

The output is a valid D96A EAN008 interchange (UNT and UNZ counts right, one segment per line as
most partners send it), so a benchmark measures the accepted path and a test can mutate it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.edi.edifact_syntax import DEFAULT_CHARS, format_segment

_DEFAULT_PREPARED_AT = datetime(2025, 1, 6, 8, 30)


def eancom_orders_interchange(
    n_messages: int,
    n_lines: int,
    *,
    buyer_gln: str,
    delivery_gln: str,
    gtins: Sequence[str],
    sender: str,
    receiver: str,
    control_ref: str,
    prepared_at: datetime = _DEFAULT_PREPARED_AT,
) -> bytes:
    """``n_messages`` ORDERS of ``n_lines`` lines each; items cycle through ``gtins``.

    Order numbers are ``<control_ref>-<message number>``; quantities run 1..9 and prices
    1.50..50.50 so that every line differs from its neighbours.
    """
    if n_messages < 1 or n_lines < 1 or not gtins:
        raise ValueError("an interchange needs at least one message, one line and one GTIN")
    day = prepared_at.strftime("%Y%m%d")
    segments = [
        DEFAULT_CHARS.una(),
        format_segment(
            "UNB",
            [
                ("UNOC", "3"),
                (sender, "14"),
                (receiver, "14"),
                (day[2:], prepared_at.strftime("%H%M")),
                control_ref,
            ],
        ),
    ]
    item = 0
    for number in range(1, n_messages + 1):
        reference = str(number)
        message = [
            format_segment("UNH", [reference, ("ORDERS", "D", "96A", "UN", "EAN008")]),
            format_segment("BGM", ["220", f"{control_ref}-{number}", "9"]),
            format_segment("DTM", [("137", day, "102")]),
            format_segment("DTM", [("2", day, "102")]),
            format_segment("NAD", ["BY", (buyer_gln, "", "9")]),
            format_segment("NAD", ["DP", (delivery_gln, "", "9")]),
            format_segment("NAD", ["SU", (receiver, "", "9")]),
            format_segment("CUX", [("2", "EUR", "9")]),
        ]
        for line in range(1, n_lines + 1):
            gtin = gtins[item % len(gtins)]
            message += [
                format_segment("LIN", [str(line), "", (gtin, "EN")]),
                format_segment("QTY", [("21", str(item % 9 + 1))]),
                format_segment("PRI", [("AAA", f"{item % 50 + 1}.50")]),
            ]
            item += 1
        message += [format_segment("UNS", ["S"]), format_segment("CNT", [("2", str(n_lines))])]
        message.append(format_segment("UNT", [str(len(message) + 1), reference]))
        segments += message
    segments.append(format_segment("UNZ", [str(n_messages), control_ref]))
    return "\n".join(segments).encode("latin-1") + b"\n"
