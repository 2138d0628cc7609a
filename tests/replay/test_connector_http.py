"""The HTTP connector: signed requests, one outcome per ERP answer, safe re-sends, shared by threads."""

import hashlib
import hmac
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from pathlib import Path

import httpx
import orjson
import pytest

from app.replay.connectors import Acknowledged, Failed, Retryable, backoff_delay
from app.replay.connectors.http import HttpConnector, HttpConnectorConfig, interpret_answer
from app.replay.documents import ErpDocument
from app.replay.formats.samples import sample_invoice, sample_order, sample_replay
from app.replay.reference_erp import ReferenceErp, running_reference_erp

SECRET = "test-erp-secret"
NOW = 1_767_225_600.0


@pytest.fixture
def erp(tmp_path: Path) -> Iterator[ReferenceErp]:
    with running_reference_erp(state=tmp_path / "erp.db", secret=SECRET) as server:
        yield server


def connector_for(erp: ReferenceErp, *, secret: str = SECRET, read_timeout: float = 5.0) -> HttpConnector:
    return HttpConnector(HttpConnectorConfig(base_url=erp.url, secret=secret, read_timeout=read_timeout))


def wait_until_stored(erp: ReferenceErp, document: ErpDocument, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(d["idempotency_key"] == document.idempotency_key for d in erp.store.documents()):
            return
        time.sleep(0.02)
    raise AssertionError(f"{document.reference} never reached the ERP")


class TestRequest:
    def test_the_request_is_signed_over_timestamp_and_exact_body(self) -> None:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(201, json={"reference": "ERP-INV-000001"})

        config = HttpConnectorConfig(base_url="http://erp.test/api/", secret=SECRET)
        connector = HttpConnector(config, clock=lambda: NOW, transport=httpx.MockTransport(answer))
        document = sample_invoice(1, order_numbers=("CMD-2026-000001",), delivery_note_numbers=())
        assert connector.send(document) == Acknowledged("ERP-INV-000001")
        connector.close()

        (request,) = seen
        expected = hmac.new(SECRET.encode(), b"1767225600." + document.to_json(), hashlib.sha256).hexdigest()
        assert str(request.url) == "http://erp.test/api/invoices"
        assert request.content == document.to_json()
        assert request.headers["X-Carnet-Timestamp"] == "1767225600"
        assert request.headers["X-Carnet-Signature"] == f"sha256={expected}"
        assert request.headers["Idempotency-Key"] == document.idempotency_key
        assert request.headers["Content-Type"] == "application/json"


def problem(title: str, detail: str) -> bytes:
    return orjson.dumps({"type": "about:blank", "title": title, "detail": detail})


class TestOutcomeOfEachAnswer:
    @pytest.mark.parametrize(
        ("status", "body", "expected"),
        [
            (201, b'{"reference": "ERP-ORD-000007"}', Acknowledged("ERP-ORD-000007")),
            (200, b'{"reference": "ERP-ORD-000007"}', Acknowledged("ERP-ORD-000007")),
            (409, b'{"reference": "ERP-ORD-000007"}', Acknowledged("ERP-ORD-000007", already_received=True)),
            (500, b"Internal Server Error", Retryable("ERP answered 500: Internal Server Error")),
            (502, b"", Retryable("ERP answered 502: (empty answer)")),
        ],
    )
    def test_answers_with_an_obvious_outcome(self, status: int, body: bytes, expected: object) -> None:
        assert interpret_answer(status, {}, body, now=NOW) == expected

    def test_a_refusal_keeps_the_problem_text_for_the_human(self) -> None:
        outcome = interpret_answer(422, {}, problem("Unprocessable", "unknown order CMD-1"), now=NOW)
        assert outcome == Failed("ERP refused the document (422): Unprocessable: unknown order CMD-1", 422)

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
    def test_other_client_errors_need_a_human(self, status: int) -> None:
        assert isinstance(interpret_answer(status, {}, b"nope", now=NOW), Failed)

    def test_a_conflict_without_a_reference_is_not_an_acknowledgement(self) -> None:
        outcome = interpret_answer(409, {}, problem("Conflict", "key reused"), now=NOW)
        assert outcome == Failed("conflict: Conflict: key reused", 409)

    def test_a_success_without_a_reference_cannot_be_reconciled(self) -> None:
        assert isinstance(interpret_answer(201, {}, b"{}", now=NOW), Failed)

    def test_too_many_requests_is_retried_after_the_delay_asked(self) -> None:
        outcome = interpret_answer(429, {"retry-after": "7"}, b"", now=NOW)
        assert outcome == Retryable("ERP answered 429: (empty answer)", retry_after=7.0)

    def test_retry_after_may_be_an_http_date(self) -> None:
        outcome = interpret_answer(503, {"retry-after": formatdate(NOW + 30, usegmt=True)}, b"", now=NOW)
        assert isinstance(outcome, Retryable) and outcome.retry_after == 30.0


class TestAgainstTheReferenceErp:
    def test_a_document_is_acknowledged_with_the_erp_number_and_a_re_send_gets_the_same(
        self, erp: ReferenceErp
    ) -> None:
        connector = connector_for(erp)
        first = connector.send(sample_order(1))
        again = connector.send(sample_order(1))
        connector.close()
        assert first == Acknowledged("ERP-ORD-000001")
        assert again == Acknowledged("ERP-ORD-000001", already_received=True)
        assert [d["received_count"] for d in erp.store.documents()] == [2]

    def test_a_wrong_secret_is_refused_for_a_human(self, erp: ReferenceErp) -> None:
        connector = connector_for(erp, secret="not-the-secret")
        outcome = connector.send(sample_order(1))
        connector.close()
        assert isinstance(outcome, Failed) and outcome.status == 401
        assert "bad signature" in outcome.reason
        assert erp.store.documents() == []

    def test_an_invoice_before_its_order_is_refused(self, erp: ReferenceErp) -> None:
        connector = connector_for(erp)
        invoice = sample_invoice(1, order_numbers=("CMD-2026-000001",), delivery_note_numbers=())
        outcome = connector.send(invoice)
        assert isinstance(outcome, Failed) and "unknown order CMD-2026-000001" in outcome.reason
        assert connector.send(sample_order(1)) == Acknowledged("ERP-ORD-000001")
        assert connector.send(invoice) == Acknowledged("ERP-INV-000001")
        connector.close()

    @pytest.mark.parametrize(("mode", "retry_after"), [("error", None), ("unavailable", 1.0)])
    def test_server_errors_are_retryable_and_store_nothing(
        self, erp: ReferenceErp, mode: str, retry_after: float | None
    ) -> None:
        erp.faults.update({"fail_rate": 1.0, "modes": [mode]})
        connector = connector_for(erp)
        outcome = connector.send(sample_order(1))
        connector.close()
        assert isinstance(outcome, Retryable) and outcome.retry_after == retry_after
        assert erp.store.documents() == []

    def test_a_timeout_is_retryable_and_the_re_send_finds_the_document_stored(
        self, erp: ReferenceErp
    ) -> None:
        erp.faults.update({"fail_rate": 1.0, "modes": ["timeout"], "hang_seconds": 0.5})
        connector = connector_for(erp, read_timeout=0.2)
        outcome = connector.send(sample_order(1))
        assert isinstance(outcome, Retryable) and "in time" in outcome.reason
        wait_until_stored(erp, sample_order(1))
        erp.faults.update({"fail_rate": 0.0})
        assert connector.send(sample_order(1)) == Acknowledged("ERP-ORD-000001", already_received=True)
        connector.close()

    def test_a_connection_dropped_after_storing_is_retryable_and_counted_once(
        self, erp: ReferenceErp
    ) -> None:
        erp.faults.update({"fail_rate": 1.0, "modes": ["drop"]})
        connector = connector_for(erp)
        outcome = connector.send(sample_order(1))
        assert isinstance(outcome, Retryable) and "connection" in outcome.reason
        erp.faults.update({"fail_rate": 0.0})
        assert connector.send(sample_order(1)) == Acknowledged("ERP-ORD-000001", already_received=True)
        connector.close()
        assert [(d["erp_number"], d["received_count"]) for d in erp.store.documents()] == [
            ("ERP-ORD-000001", 2)
        ]

    def test_an_erp_that_is_not_there_is_retryable(self, tmp_path: Path) -> None:
        with running_reference_erp(state=tmp_path / "gone.db", secret=SECRET) as gone:
            url = gone.url
        connector = HttpConnector(HttpConnectorConfig(base_url=url, secret=SECRET, connect_timeout=0.5))
        outcome = connector.send(sample_order(1))
        connector.close()
        assert isinstance(outcome, Retryable)

    def test_a_url_that_is_not_http_needs_a_human(self) -> None:
        connector = HttpConnector(HttpConnectorConfig(base_url="ftp://erp.test", secret=SECRET))
        outcome = connector.send(sample_order(1))
        connector.close()
        assert isinstance(outcome, Failed) and "not http" in outcome.reason

    def test_threads_sharing_one_connector_each_get_their_document_stored_once(
        self, erp: ReferenceErp
    ) -> None:
        connector = connector_for(erp)
        orders = [sample_order(n, lines=2) for n in range(1, 201)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(connector.send, orders))
        connector.close()
        assert all(isinstance(o, Acknowledged) and not o.already_received for o in outcomes)
        numbers = {o.erp_reference for o in outcomes if isinstance(o, Acknowledged)}
        assert numbers == {f"ERP-ORD-{n:06d}" for n in range(1, 201)}
        held = erp.store.documents()
        assert sorted(d["reference"] for d in held) == sorted(o.reference for o in orders)
        assert {d["received_count"] for d in held} == {1}


class TestReplayThroughFaults:
    def test_retrying_until_acknowledged_stores_each_document_once_and_in_order(
        self, erp: ReferenceErp
    ) -> None:
        """What the engine will do, reduced to a loop: send; on a retryable outcome, wait and send again."""
        documents = sample_replay(16)
        erp.faults.update(
            {
                "fail_rate": 0.3,
                "modes": ["error", "unavailable", "drop", "timeout"],
                "hang_seconds": 0.2,
                "seed": 5,
            }
        )
        connector = connector_for(erp, read_timeout=0.1)
        rng = random.Random(5)
        acknowledged = []
        for document in documents:
            attempt = 0
            while not isinstance(outcome := connector.send(document), Acknowledged):
                assert isinstance(outcome, Retryable), outcome
                attempt += 1
                time.sleep(backoff_delay(attempt, base=0.005, cap=0.05, rng=rng))
            acknowledged.append(outcome.erp_reference)
        connector.close()
        time.sleep(0.3)  # let the last hung request land: it must not add anything

        held = erp.store.documents()
        assert [d["idempotency_key"] for d in held] == [d.idempotency_key for d in documents]
        assert [d["erp_number"] for d in held] == acknowledged
        assert max(d["received_count"] for d in held) > 1  # the faults did make some re-sends


class TestBackoff:
    @pytest.mark.parametrize("attempt", range(1, 12))
    def test_the_delay_stays_within_the_exponential_ceiling(self, attempt: int) -> None:
        rng = random.Random(attempt)
        ceiling = min(60.0, 0.5 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, rng=rng) for _ in range(500)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads the retries over the whole window, not around its end.
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9

    def test_a_very_late_attempt_is_capped_without_overflowing(self) -> None:
        assert 0.0 <= backoff_delay(5000, base=0.5, cap=30.0, rng=random.Random(1)) <= 30.0

    def test_attempts_count_from_one(self) -> None:
        with pytest.raises(ValueError):
            backoff_delay(0, rng=random.Random(1))
