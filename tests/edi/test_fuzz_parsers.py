"""Robustness: mutated corpus files give an Interchange or a located rejection, nothing else.

Mutations are the damage real transfers do: flipped bytes, truncation, lost or repeated
segments, deleted ranges. Every format goes through ``parse_interchange``. The samples are Carnet's
own fixtures, and the public corpus files too when it is configured. Examples are bounded
by a per-example deadline so that a hang (runaway regex, endless loop) fails the test.
"""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.edi.csv_orders import FRENCH_HEADER_PROFILE
from app.edi.documents import Interchange
from app.edi.issues import InterchangeRejected
from app.edi.parse import parse_interchange
from app.edi.samples import eancom_orders_interchange
from tests.edi.conformance import ALL_FILES

SAMPLES = {path.name: path.read_bytes() for path in ALL_FILES}
SAMPLES["generated.edi"] = eancom_orders_interchange(
    3,
    3,
    buyer_gln="5412345000013",
    delivery_gln="5412345000020",
    gtins=["4006381333931"],
    sender="S",
    receiver="R",
    control_ref="9",
)
SAMPLES["french.csv"] = "commande;client;article;quantité\nP1;C1;4006381333931;2,5\n".encode()
_SEGMENT_END = re.compile(rb"['~\n\x15]|</[^>]*>")
FUZZ_SETTINGS = settings(
    max_examples=2500,
    deadline=timedelta(seconds=2),
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _segment_bounds(data: bytes) -> list[int]:
    return [0, *(m.end() for m in _SEGMENT_END.finditer(data)), len(data)]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))]
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        kind = draw(
            st.sampled_from(["flip", "truncate", "delete", "drop_segment", "repeat_segment", "insert"])
        )
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "truncate":
            data = data[:at]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 64)) :]
        elif kind == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        else:
            bounds = _segment_bounds(data)
            index = draw(st.integers(0, len(bounds) - 2))
            start, end = bounds[index], bounds[index + 1]
            segment = data[start:end]
            data = data[:start] + (segment * 2 if kind == "repeat_segment" else b"") + data[end:]
    return data


def _check(data: bytes, content_type: str | None = None) -> None:
    try:
        interchange = parse_interchange(data, content_type=content_type)
    except InterchangeRejected as rejection:
        assert rejection.issues
        for issue in rejection.issues:
            assert issue.loc and issue.loc != "start of data", issue
            assert issue.detail
        return
    assert isinstance(interchange, Interchange)
    for warning in interchange.warnings:
        assert warning.loc and warning.loc != "start of data" and warning.detail, warning


@FUZZ_SETTINGS
@given(damaged(), st.sampled_from([None, "application/edifact", "application/xml", "text/csv"]))
def test_damaged_files_are_read_or_rejected_with_a_location(data: bytes, content_type: str | None) -> None:
    _check(data, content_type)


@settings(max_examples=400, deadline=timedelta(seconds=2), database=None, derandomize=True)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_are_read_or_rejected_with_a_location(data: bytes) -> None:
    _check(data)


@settings(max_examples=400, deadline=timedelta(seconds=2), database=None, derandomize=True)
@given(st.text(alphabet="UNBAHTSIQ+:?'*~>|\n0123456789", max_size=300))
def test_service_character_soup_is_read_or_rejected_with_a_location(text: str) -> None:
    for prefix in ("UNB+UNOC:3+A+B+250101:0000+1'", "UNA:+.? '", f"ISA*{'*' * 15}>~"):
        _check((prefix + text).encode())


def test_csv_profile_is_honoured_for_damaged_csv() -> None:
    data = SAMPLES["french.csv"].replace(b"2,5", b"2;5")
    try:
        parse_interchange(data, csv_profile=FRENCH_HEADER_PROFILE)
    except InterchangeRejected as rejection:
        assert all(issue.loc for issue in rejection.issues)
