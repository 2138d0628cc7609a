"""A real run through the files connector: the deferred invoice and credit note Carnet issued come out
as UBL 2.1 and Factur-X (CII) files valid against the schemas and the EN 16931 rules."""

from collections.abc import Callable
from pathlib import Path

import facturx
from sqlalchemy import Engine, select

from app.db import session_scope
from app.invoicing.models import DeferredDocument
from app.replay.runs import execute_run, start_run
from tests.replay.replay_data import FINANCE
from tests.replay.test_engine import committed, settings
from tests.replay.test_formats_xml import ACCEPTED_WARNINGS, schematron  # noqa: F401 - the fixture

Schematron = Callable[[str, bytes], list[tuple[str, str, str]]]


def test_a_files_run_writes_valid_invoice_and_credit_note_xml(
    fresh_engine: Engine,
    tmp_path: Path,
    schematron: Schematron,  # noqa: F811
) -> None:
    committed(fresh_engine, orders=2, credit_every=2)
    config = settings(replay_folder=tmp_path, replay_connector="files", invoice_numbering="carnet")
    with session_scope(fresh_engine) as session:
        run = start_run(session, actor=FINANCE, settings=config, all_incidents=True, connector="files")
    assert execute_run(run.id, engine=fresh_engine, settings=config) == "completed"

    with session_scope(fresh_engine, write=False) as session:
        documents = list(session.execute(select(DeferredDocument)).scalars())
    assert {d.kind for d in documents} == {"invoice", "credit_note"}
    for document in documents:
        cii = (tmp_path / "factur-x" / f"{document.reference}.xml").read_bytes()
        ubl = (tmp_path / "ubl" / f"{document.reference}.xml").read_bytes()
        assert facturx.xml_check_xsd(cii, flavor="factur-x", level="en16931")
        flavor = "ubl-2.1-creditnote" if document.kind == "credit_note" else "ubl-2.1-invoice"
        assert facturx.xml_check_xsd(ubl, flavor=flavor)
        for kind, xml in (("cii", cii), ("ubl", ubl)):
            assert [f for f in schematron(kind, xml) if f[0] not in ACCEPTED_WARNINGS] == [], (
                kind,
                document.kind,
            )
        assert document.final_number is not None and document.final_number.encode() in cii
    lines = (tmp_path / "runs" / f"run-{run.id}.jsonl").read_bytes().splitlines()
    assert len(lines) == 5
