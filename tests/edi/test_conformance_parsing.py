"""Conformance: every fixture (and every public corpus file, when configured) is read as its sidecar
says, and what Carnet would answer to it reads back.

Verdicts: a sidecar with ``error`` must be rejected with located issues (and the lenient reading
must still recover ``lenient_orders``); ``reject_or_warn`` files follow Carnet's documented choice
(`conformance.REJECT_OR_WARN_DECISIONS`); every other sidecar must be accepted exactly as listed.
Files without a sidecar (acknowledgments, an INVOIC) must parse or be rejected cleanly, and never
yield orders.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.edi.acknowledgments import AckControl, edifact_contrl, x12_997
from app.edi.documents import DocumentFormat, Interchange
from app.edi.edifact import parse_edifact
from app.edi.issues import InterchangeRejected
from app.edi.parse import parse_interchange
from app.edi.x12 import parse_x12
from tests.edi.conformance import (
    ALL_FILES,
    CORPUS_FILES,
    FIXTURE_FILES,
    REJECT_OR_WARN_DECISIONS,
    csv_profile,
    file_id,
    sidecar,
    verdict,
)
from tests.edi.corpus import needs_corpus

CONTROL = AckControl(interchange_ref="900001", prepared_at=datetime(2026, 11, 16, 12, 30), group_ref="9")


def test_every_fixture_has_a_verdict() -> None:
    verdicts = Counter(verdict(path) for path in FIXTURE_FILES)
    assert verdicts == {"accepted": 26, "reject_or_warn": 4, "rejected": 2, "no sidecar": 4}


@needs_corpus
def test_corpus_is_present_with_a_verdict_for_every_file() -> None:
    assert len(CORPUS_FILES) == 40
    verdicts = Counter(verdict(path) for path in CORPUS_FILES)
    assert verdicts == {"accepted": 27, "reject_or_warn": 7, "rejected": 2, "no sidecar": 4}


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
        return parse_interchange(path.read_bytes(), csv_profile=csv_profile(path))
    except InterchangeRejected as rejection:
        return rejection


def _assert_located(rejection: InterchangeRejected) -> None:
    assert rejection.issues
    for issue in rejection.issues:
        assert issue.loc and issue.loc != "start of data", issue
        assert issue.msg


@pytest.mark.parametrize("path", ALL_FILES, ids=file_id)
def test_file_is_read_as_its_sidecar_says(path: Path) -> None:
    expected = sidecar(path)
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


@pytest.mark.parametrize("path", ALL_FILES, ids=file_id)
def test_the_syntax_acknowledgment_of_every_file_reads_back(path: Path) -> None:
    """A CONTRL or 997 answers whatever came with a readable envelope, and our own reader accepts it."""
    result = _read(path)
    interchange = result.interchange if isinstance(result, InterchangeRejected) else result
    if interchange is None or not interchange.envelopes:
        return
    if interchange.format is DocumentFormat.EDIFACT:
        answer = parse_edifact(edifact_contrl(result, control=CONTROL))
        assert [m.type for m in answer.skipped] == ["CONTRL"] * len(interchange.envelopes)
    else:
        answer = parse_x12(x12_997(result, control=CONTROL))
        assert {m.type for m in answer.skipped} == {"997"}
    assert answer.orders == ()
    assert int(answer.control_ref or "") == int(CONTROL.interchange_ref)
