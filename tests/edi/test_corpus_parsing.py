"""Conformance: every public corpus file is read as its MANIFEST sidecar says.

Verdicts: a sidecar with ``error`` must be rejected with located issues (and the lenient reading
must still recover ``lenient_orders``); ``reject_or_warn`` files follow Carnet's documented choice
below; every other sidecar must be accepted exactly as listed. Files without a sidecar (the
acknowledgments and the INVOIC) must parse or be rejected cleanly, and never yield orders.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.edi.documents import Interchange
from app.edi.issues import InterchangeRejected, IssueCode
from app.edi.parse import parse_interchange
from tests.edi.corpus import CORPUS, needs_corpus

CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file() and p.suffix not in (".json", ".md"))

# Carnet's choice for each defect real partners send (sidecar ``reject_or_warn: true``):
# accepted with the named warning, or rejected with the named error.
REJECT_OR_WARN_DECISIONS: dict[str, tuple[str, IssueCode]] = {
    "pydifact_order2_no_unz.edi": ("warn", IssueCode.MISSING_TRAILER),
    "pydifact_order_comma_decimal_no_unz.edi": ("warn", IssueCode.MISSING_TRAILER),
    "pydifact_wikipedia_de.edi": ("warn", IssueCode.CONTROL_REFERENCE_MISMATCH),
    "phpedifact_orders_d01b_broken.edi": ("reject", IssueCode.INVALID_RELEASE),
    "edinet_850_bom_nbsp_isa.edi": ("warn", IssueCode.ENVELOPE_LAYOUT),
    "edinet_850_bom_tab_indent.edi": ("warn", IssueCode.ENVELOPE_LAYOUT),
    "edinet_850_missing_terminator.edi": ("warn", IssueCode.MISSING_TERMINATOR),
}


@needs_corpus
def test_corpus_is_present() -> None:
    assert CORPUS.is_dir(), f"conformance corpus missing at {CORPUS}"
    assert len(CORPUS_FILES) == 40


def _sidecar(path: Path) -> dict[str, Any] | None:
    sidecar = path.with_name(path.name + ".expected.json")
    return json.loads(sidecar.read_text()) if sidecar.exists() else None


def _summary(interchange: Interchange) -> list[dict[str, Any]]:
    return [
        {
            "buyer": order.buyer_id,
            "po_number": order.po_number,
            "lines": [{"item": line.item, "quantity": line.quantity} for line in order.lines],
        }
        for order in interchange.orders
    ]


def _expected(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **order,
            "lines": [
                {"item": li["item"], "quantity": Decimal(str(li["quantity"]))} for li in order["lines"]
            ],
        }
        for order in orders
    ]


def _read(path: Path) -> Interchange | InterchangeRejected:
    try:
        return parse_interchange(path.read_bytes())
    except InterchangeRejected as rejection:
        return rejection


def _assert_located(rejection: InterchangeRejected) -> None:
    assert rejection.issues
    for issue in rejection.issues:
        assert issue.loc and issue.loc != "start of data", issue
        assert issue.msg


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file(path: Path) -> None:
    expected = _sidecar(path)
    result = _read(path)
    if expected is None:
        interchange = result.interchange if isinstance(result, InterchangeRejected) else result
        assert interchange is None or interchange.orders == ()
        if isinstance(result, InterchangeRejected):
            _assert_located(result)
        return
    if "error" in expected:
        assert isinstance(result, InterchangeRejected), expected["error"]
        _assert_located(result)
        assert result.interchange is not None
        assert _summary(result.interchange) == _expected(expected["lenient_orders"])
        return
    decision = REJECT_OR_WARN_DECISIONS.get(path.name)
    if expected.get("reject_or_warn"):
        assert decision is not None, f"no documented decision for {path.name}"
    if decision is not None and decision[0] == "reject":
        assert isinstance(result, InterchangeRejected)
        _assert_located(result)
        assert decision[1] in {issue.code for issue in result.issues}
        assert result.interchange is not None
        assert _summary(result.interchange) == _expected(expected["orders"])
        return
    assert isinstance(result, Interchange), f"rejected: {result}"
    assert _summary(result) == _expected(expected["orders"])
    for warning in result.warnings:
        assert warning.loc and warning.detail
    if decision is not None:
        assert decision[1] in {warning.code for warning in result.warnings}
