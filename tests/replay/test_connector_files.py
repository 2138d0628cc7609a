"""The files connector writes each document once, across runs and across a crash mid-write."""

import csv
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import facturx
import orjson
import pytest

from app.replay.connectors import Acknowledged, Failed
from app.replay.connectors.files import FilesConnector, FilesConnectorConfig, FolderInUse
from app.replay.documents import DocumentKind, ErpDocument
from app.replay.formats.samples import sample_replay, totals_of


def open_connector(folder: Path, run_id: str) -> FilesConnector:
    return FilesConnector(FilesConnectorConfig(folder=folder, fsync=False), run_id=run_id)


def jsonl_keys(path: Path) -> list[str]:
    return [orjson.loads(line)["idempotency_key"] for line in path.read_bytes().splitlines()]


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture
def documents() -> list[ErpDocument]:
    return sample_replay(4)


class TestWriting:
    def test_every_document_is_a_jsonl_line_and_csv_rows_and_invoices_get_both_xml(
        self, tmp_path: Path, documents: list[ErpDocument]
    ) -> None:
        connector = open_connector(tmp_path, "run-1")
        outcomes = [connector.send(d) for d in documents]
        connector.close()

        assert outcomes == [Acknowledged(d.reference) for d in documents]
        assert jsonl_keys(tmp_path / "runs" / "run-1.jsonl") == [d.idempotency_key for d in documents]
        rows = csv_rows(tmp_path / "runs" / "run-1.csv")
        assert len(rows) == sum(len(d.lines) for d in documents)
        assert rows[0]["reference"] == documents[0].reference and rows[0]["line_net_amount"].count(".") == 1
        billed = [d for d in documents if d.kind is not DocumentKind.ORDER]
        assert sorted(p.stem for p in (tmp_path / "ubl").glob("*.xml")) == sorted(d.reference for d in billed)
        for document in billed:
            cii = (tmp_path / "factur-x" / f"{document.reference}.xml").read_bytes()
            assert facturx.xml_check_xsd(cii, flavor="factur-x", level="en16931")

    def test_an_unsupported_invoice_fails_for_a_human_and_writes_nothing(
        self, tmp_path: Path, documents: list[ErpDocument]
    ) -> None:
        invoice = next(d for d in documents if d.kind is DocumentKind.INVOICE)
        line = replace(invoice.lines[0], vat_rate=Decimal(0), price_includes_vat=False)
        zero_rated = replace(invoice, lines=(line,), totals=totals_of((line,)))
        connector = open_connector(tmp_path, "run-1")
        outcome = connector.send(zero_rated)
        connector.close()
        assert isinstance(outcome, Failed) and "exemption" in outcome.reason
        assert not (tmp_path / "runs" / "run-1.jsonl").exists()

    def test_a_second_writer_on_the_same_folder_is_refused(self, tmp_path: Path) -> None:
        connector = open_connector(tmp_path, "run-1")
        with pytest.raises(FolderInUse):
            open_connector(tmp_path, "run-2")
        connector.close()
        open_connector(tmp_path, "run-2").close()


class TestIdempotence:
    def test_a_re_send_in_the_same_run_writes_nothing_more(
        self, tmp_path: Path, documents: list[ErpDocument]
    ) -> None:
        connector = open_connector(tmp_path, "run-1")
        first = connector.send(documents[0])
        again = connector.send(documents[0])
        connector.close()
        assert again == Acknowledged(documents[0].reference, already_received=True)
        assert first == Acknowledged(documents[0].reference)
        assert jsonl_keys(tmp_path / "runs" / "run-1.jsonl") == [documents[0].idempotency_key]

    def test_a_second_run_re_sending_everything_only_writes_the_new_documents(
        self, tmp_path: Path, documents: list[ErpDocument]
    ) -> None:
        first_run = open_connector(tmp_path, "run-1")
        for document in documents[:3]:
            first_run.send(document)
        first_run.close()

        second_run = open_connector(tmp_path, "run-2")
        outcomes = [second_run.send(d) for d in documents]
        second_run.close()

        assert outcomes[:3] == [Acknowledged(d.reference, already_received=True) for d in documents[:3]]
        assert outcomes[3:] == [Acknowledged(d.reference) for d in documents[3:]]
        assert jsonl_keys(tmp_path / "runs" / "run-1.jsonl") == [d.idempotency_key for d in documents[:3]]
        assert jsonl_keys(tmp_path / "runs" / "run-2.jsonl") == [d.idempotency_key for d in documents[3:]]

    def test_a_crash_between_the_lines_and_the_commit_does_not_duplicate_them(
        self, tmp_path: Path, documents: list[ErpDocument]
    ) -> None:
        connector = open_connector(tmp_path, "run-1")
        connector.send(documents[0])
        connector.close()
        # What a crash leaves: the next document's lines (one torn) without its index entry, and
        # half an index line.
        runs = tmp_path / "runs"
        with (runs / "run-1.jsonl").open("ab") as jsonl:
            jsonl.write(documents[1].to_json() + b"\n" + documents[2].to_json()[:40])
        with (runs / "run-1.csv").open("ab") as table:
            table.write(b"order,CMD-2026-0000")
        with (tmp_path / "index.jsonl").open("ab") as index:
            index.write(b'{"key": "order:CMD-2026-0')

        resumed = open_connector(tmp_path, "run-2")
        outcomes = [resumed.send(d) for d in documents[:3]]
        resumed.close()

        assert outcomes[0] == Acknowledged(documents[0].reference, already_received=True)
        assert outcomes[1:] == [Acknowledged(d.reference) for d in documents[1:3]]
        assert jsonl_keys(runs / "run-1.jsonl") == [documents[0].idempotency_key]
        assert jsonl_keys(runs / "run-2.jsonl") == [d.idempotency_key for d in documents[1:3]]
        first_run_rows = csv_rows(runs / "run-1.csv")
        assert {r["reference"] for r in first_run_rows} == {documents[0].reference}
        assert len(first_run_rows) == len(documents[0].lines)

    def test_the_same_reference_under_another_key_is_refused(
        self, tmp_path: Path, documents: list[ErpDocument]
    ) -> None:
        connector = open_connector(tmp_path, "run-1")
        connector.send(documents[0])
        outcome = connector.send(replace(documents[0], idempotency_key="another-key"))
        connector.close()
        assert isinstance(outcome, Failed)
