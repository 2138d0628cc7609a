"""The conformance files: Carnet's own fixtures always, the public corpus when configured, each with
its verdict (`<file>.expected.json`; conventions in `fixtures/README.md`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.edi.csv_orders import CsvProfile
from app.edi.issues import IssueCode
from app.edi.schemas import CsvProfileIn
from tests.edi.corpus import CORPUS, FIXTURES, data_files

FIXTURE_FILES = data_files(FIXTURES)
CORPUS_FILES = data_files(CORPUS)
ALL_FILES = FIXTURE_FILES + CORPUS_FILES

# Carnet's choice for each defect real partners send (sidecar ``reject_or_warn: true``):
# accepted with the named warning, or rejected with the named error. Keyed by file name.
REJECT_OR_WARN_DECISIONS: dict[str, tuple[str, IssueCode]] = {
    # fixtures
    "orders_no_unz.edi": ("warn", IssueCode.MISSING_TRAILER),
    "850_bom_nbsp_isa.edi": ("warn", IssueCode.ENVELOPE_LAYOUT),
    "850_bom_tab_indent.edi": ("warn", IssueCode.ENVELOPE_LAYOUT),
    "850_missing_terminator.edi": ("warn", IssueCode.MISSING_TERMINATOR),
    # public corpus
    "pydifact_order2_no_unz.edi": ("warn", IssueCode.MISSING_TRAILER),
    "pydifact_order_comma_decimal_no_unz.edi": ("warn", IssueCode.MISSING_TRAILER),
    "pydifact_wikipedia_de.edi": ("warn", IssueCode.CONTROL_REFERENCE_MISMATCH),
    "phpedifact_orders_d01b_broken.edi": ("reject", IssueCode.INVALID_RELEASE),
    "edinet_850_bom_nbsp_isa.edi": ("warn", IssueCode.ENVELOPE_LAYOUT),
    "edinet_850_bom_tab_indent.edi": ("warn", IssueCode.ENVELOPE_LAYOUT),
    "edinet_850_missing_terminator.edi": ("warn", IssueCode.MISSING_TERMINATOR),
}


def sidecar(path: Path) -> dict[str, Any] | None:
    side = path.with_name(path.name + ".expected.json")
    return json.loads(side.read_text()) if side.exists() else None


def csv_profile(path: Path) -> CsvProfile | None:
    """The CSV layout the partner sending this file has in its profile, when its sidecar names one."""
    stored = (sidecar(path) or {}).get("csv_profile")
    return CsvProfileIn.model_validate(stored).to_profile() if stored else None


def file_id(path: Path) -> str:
    """`fixtures/edifact/x.edi` or `corpus/edifact/x.edi`: where a parametrized case comes from."""
    origin = "fixtures" if path.is_relative_to(FIXTURES) else "corpus"
    return f"{origin}/{path.parent.name}/{path.name}"


def verdict(path: Path) -> str:
    expected = sidecar(path)
    if expected is None:
        return "no sidecar"
    if "error" in expected:
        return "rejected"
    return "reject_or_warn" if expected.get("reject_or_warn") else "accepted"
