"""The reference ERP behaves like a real endpoint: authenticated, idempotent, ordered, durable, and
able to fail in each of the ways replay must survive."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.replay.connectors.signing import signature
from app.replay.documents import ErpDocument
from app.replay.formats.samples import sample_credit_note, sample_invoice, sample_order
from app.replay.reference_erp import ReferenceErp, running_reference_erp

SECRET = "reference-erp-secret"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def erp(tmp_path: Path) -> Iterator[ReferenceErp]:
    with running_reference_erp(state=tmp_path / "erp.db", secret=SECRET) as server:
        yield server


@pytest.fixture
def client(erp: ReferenceErp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=erp.url, timeout=5.0) as http:
        yield http


def signed_headers(body: bytes, *, key: str, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        "Idempotency-Key": key,
        "X-Carnet-Timestamp": timestamp,
        "X-Carnet-Signature": signature(secret, timestamp, body),
    }


def post(client: httpx.Client, document: ErpDocument, *, path: str | None = None) -> httpx.Response:
    body = document.to_json()
    path = path or {"order": "/orders", "invoice": "/invoices", "credit_note": "/credit-notes"}[document.kind]
    return client.post(path, content=body, headers=signed_headers(body, key=document.idempotency_key))


class TestSignature:
    def test_a_well_signed_document_is_stored(self, client: httpx.Client) -> None:
        response = post(client, sample_order(1))
        assert response.status_code == 201
        assert response.json()["reference"] == "ERP-ORD-000001"

    @pytest.mark.parametrize(
        ("headers", "why"),
        [
            (lambda: {}, "missing"),
            (lambda: {"X-Carnet-Timestamp": "1767225600"}, "missing"),
            (lambda: signed_headers(b"another body", key="k"), "bad signature"),
            (lambda: signed_headers(sample_order(1).to_json(), key="k", secret="wrong"), "bad signature"),
            (lambda: signed_headers(sample_order(1).to_json(), key="k", at=time.time() - 3600), "window"),
        ],
        ids=["nothing", "no-signature", "other-body", "other-secret", "stale"],
    )
    def test_an_unsigned_or_badly_signed_request_is_refused(
        self, client: httpx.Client, erp: ReferenceErp, headers: Callable[[], dict[str, str]], why: str
    ) -> None:
        # Signed when the test runs, not when it is collected: the window is measured from now.
        response = client.post("/orders", content=sample_order(1).to_json(), headers=headers())
        assert response.status_code == 401
        assert why in response.json()["detail"]
        assert erp.store.documents() == []


class TestIdempotenceAndOrder:
    def test_the_same_key_again_answers_409_with_the_same_number(self, client: httpx.Client) -> None:
        assert post(client, sample_order(1)).json()["reference"] == "ERP-ORD-000001"
        again = post(client, sample_order(1))
        assert again.status_code == 409
        assert again.json()["reference"] == "ERP-ORD-000001"
        assert post(client, sample_order(2)).json()["reference"] == "ERP-ORD-000002"

    def test_a_key_reused_for_another_document_is_refused(
        self, client: httpx.Client, erp: ReferenceErp
    ) -> None:
        post(client, sample_order(1))
        body = sample_order(2).to_json()
        response = client.post(
            "/orders", content=body, headers=signed_headers(body, key="order:CMD-2026-000001")
        )
        assert response.status_code == 422
        assert "reference" not in response.json()
        assert len(erp.store.documents()) == 1

    def test_a_document_sent_to_another_kind_s_endpoint_is_refused(self, client: httpx.Client) -> None:
        assert post(client, sample_order(1), path="/invoices").status_code == 422

    def test_dependencies_must_arrive_first(self, client: httpx.Client) -> None:
        invoice = sample_invoice(
            1, order_numbers=("CMD-2026-000001", "CMD-2026-000002"), delivery_note_numbers=()
        )
        credit_note = sample_credit_note(1, invoice=invoice)

        refused = post(client, invoice)
        assert refused.status_code == 422 and refused.json()["detail"] == "unknown order CMD-2026-000001"
        assert post(client, credit_note).json()["detail"] == f"unknown invoice {invoice.reference}"

        post(client, sample_order(1))
        assert post(client, invoice).json()["detail"] == "unknown order CMD-2026-000002"
        post(client, sample_order(2))
        assert post(client, invoice).json()["reference"] == "ERP-INV-000001"
        assert post(client, credit_note).json()["reference"] == "ERP-CN-000001"

    def test_a_credit_note_may_name_its_invoice_by_the_erp_number(self, client: httpx.Client) -> None:
        post(client, sample_order(1))
        invoice = sample_invoice(1, order_numbers=("CMD-2026-000001",), delivery_note_numbers=())
        erp_number = post(client, invoice).json()["reference"]
        response = post(client, sample_credit_note(1, invoice=invoice, erp_number=erp_number))
        assert response.status_code == 201

    def test_documents_are_listed_in_arrival_order_with_their_counts(self, client: httpx.Client) -> None:
        for document in (sample_order(2), sample_order(1), sample_order(2)):
            post(client, document)
        assert client.get("/_documents").json() == [
            {
                "kind": "order",
                "idempotency_key": "order:CMD-2026-000002",
                "reference": "CMD-2026-000002",
                "erp_number": "ERP-ORD-000001",
                "received_count": 2,
            },
            {
                "kind": "order",
                "idempotency_key": "order:CMD-2026-000001",
                "reference": "CMD-2026-000001",
                "erp_number": "ERP-ORD-000002",
                "received_count": 1,
            },
        ]


class TestDurability:
    def test_a_restarted_erp_remembers_what_it_holds_and_goes_on_numbering(self, tmp_path: Path) -> None:
        state = tmp_path / "erp.db"
        with (
            running_reference_erp(state=state, secret=SECRET) as erp,
            httpx.Client(base_url=erp.url) as client,
        ):
            post(client, sample_order(1))
        with (
            running_reference_erp(state=state, secret=SECRET) as erp,
            httpx.Client(base_url=erp.url) as client,
        ):
            again = post(client, sample_order(1))
            assert (again.status_code, again.json()["reference"]) == (409, "ERP-ORD-000001")
            assert post(client, sample_order(2)).json()["reference"] == "ERP-ORD-000002"

    def test_two_servers_on_one_state_file_number_without_gaps_or_duplicates(self, tmp_path: Path) -> None:
        state = tmp_path / "erp.db"
        with (
            running_reference_erp(state=state, secret=SECRET) as first,
            running_reference_erp(state=state, secret=SECRET) as second,
            httpx.Client(base_url=first.url) as one,
            httpx.Client(base_url=second.url) as two,
            ThreadPoolExecutor(max_workers=4) as pool,
        ):
            orders = [sample_order(n, lines=1) for n in range(1, 81)]
            answers = list(
                pool.map(lambda pair: post(one if pair[0] % 2 else two, pair[1]), enumerate(orders))
            )
        assert {a.status_code for a in answers} == {201}
        assert sorted(a.json()["reference"] for a in answers) == [f"ERP-ORD-{n:06d}" for n in range(1, 81)]


class TestFailureModes:
    def test_control_sets_and_reports_the_policy(self, client: httpx.Client) -> None:
        response = client.post("/_control", json={"fail_rate": 0.5, "modes": ["error", "drop"], "seed": 3})
        assert response.json() == {
            "fail_rate": 0.5,
            "modes": ["error", "drop"],
            "hang_seconds": 30.0,
            "slow_seconds": 0.2,
        }
        assert client.post("/_control", json={"modes": ["meteor"]}).status_code == 400
        assert client.post("/_control", json={"fail_rate": 2}).status_code == 400

    def test_errors_store_nothing(self, client: httpx.Client, erp: ReferenceErp) -> None:
        client.post("/_control", json={"fail_rate": 1, "modes": ["error"]})
        assert post(client, sample_order(1)).status_code == 500
        client.post("/_control", json={"fail_rate": 1, "modes": ["unavailable"]})
        unavailable = post(client, sample_order(1))
        assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "1")
        assert erp.store.documents() == []

    def test_a_dropped_connection_leaves_the_document_stored(
        self, client: httpx.Client, erp: ReferenceErp
    ) -> None:
        client.post("/_control", json={"fail_rate": 1, "modes": ["drop"]})
        with pytest.raises(httpx.RemoteProtocolError):
            post(client, sample_order(1))
        assert [d["erp_number"] for d in erp.store.documents()] == ["ERP-ORD-000001"]

    def test_a_hang_outlasts_the_client_and_stores_afterwards(
        self, client: httpx.Client, erp: ReferenceErp
    ) -> None:
        client.post("/_control", json={"fail_rate": 1, "modes": ["timeout"], "hang_seconds": 0.3})
        body = sample_order(1).to_json()
        with pytest.raises(httpx.ReadTimeout):
            client.post("/orders", content=body, headers=signed_headers(body, key="k1"), timeout=0.1)
        deadline = time.monotonic() + 5
        while not erp.store.documents() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [d["idempotency_key"] for d in erp.store.documents()] == ["k1"]

    def test_a_slow_answer_still_arrives(self, client: httpx.Client) -> None:
        client.post("/_control", json={"fail_rate": 1, "modes": ["slow"], "slow_seconds": 0.15})
        started = time.perf_counter()
        assert post(client, sample_order(1)).status_code == 201
        assert time.perf_counter() - started >= 0.14

    def test_a_fail_rate_fails_about_that_share_of_requests_reproducibly(self, client: httpx.Client) -> None:
        def failures() -> list[int]:
            client.post("/_control", json={"fail_rate": 0.3, "modes": ["error"], "seed": 11})
            statuses = [post(client, sample_order(n, lines=1)).status_code for n in range(1, 201)]
            return [i for i, status in enumerate(statuses) if status == 500]

        first = failures()
        assert 40 <= len(first) <= 80
        assert failures() == first

    def test_a_request_that_is_not_http_closes_only_its_connection(
        self, erp: ReferenceErp, client: httpx.Client
    ) -> None:
        host, port = erp.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(b"HELLO\r\n\r\n")
            assert raw.recv(100) == b""
        assert client.get("/_health").status_code == 200


class TestCommandLine:
    def test_it_serves_from_the_command_line_until_stopped(self, tmp_path: Path) -> None:
        env = {**os.environ, "CARNET_ERP_SECRET": SECRET}
        command = [
            sys.executable,
            "-m",
            "app.replay.reference_erp",
            "--port",
            "0",
            "--state",
            str(tmp_path / "e.db"),
        ]
        with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as process:
            try:
                assert process.stdout is not None
                url = process.stdout.readline().split()[-1]
                with httpx.Client(base_url=url, timeout=5.0) as client:
                    assert post(client, sample_order(1)).status_code == 201
            finally:
                process.terminate()
