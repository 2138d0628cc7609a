"""The audit trail's chain: records are written with the unit of work that made them, numbered and
linked at commit, and `carnet audit verify` names an edited, deleted or reordered record."""

import asyncio
import csv
import hashlib
import io
import itertools
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.audit.models import GENESIS, Action, AuditChainHead, AuditRecord
from app.audit.service import SYSTEM, Someone, export_csv, export_json, record, verify
from app.cli import main
from app.db import session_scope
from app.errors import InvalidInput
from app.writer import Writer

REP = Someone("user", 7, "alice")


def record_order(session: Session, number: str, **details: object) -> None:
    record(session, actor=REP, action=Action.ORDER_CAPTURED, subject="order", ref=number, details=details)


def records(engine: Engine) -> list[AuditRecord]:
    with session_scope(engine, write=False) as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))


def commit_orders(engine: Engine, count: int) -> None:
    for n in range(1, count + 1):
        with session_scope(engine) as session:
            record_order(session, f"CMD-{n}", lines=n, total="12.50", note="café")


def execute(engine: Engine, statement: str) -> None:
    """What someone with access to the database could do behind Carnet's back."""
    with session_scope(engine) as session:
        session.execute(text(statement))


class TestRecording:
    def test_records_are_numbered_and_linked_in_commit_order(self, fresh_engine: Engine) -> None:
        commit_orders(fresh_engine, 3)
        with session_scope(fresh_engine) as session:
            record_order(session, "CMD-4")
            record(session, actor=SYSTEM, action=Action.DOCUMENT_SENT, subject="deferred_document", ref=9)

        rows = records(fresh_engine)

        assert [row.id for row in rows] == [1, 2, 3, 4, 5]
        assert rows[0].previous_hash == GENESIS
        assert all(later.previous_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
        assert (rows[0].actor_kind, rows[0].actor_id, rows[0].actor_name) == ("user", 7, "alice")
        assert rows[0].details == {"lines": 1, "total": "12.50", "note": "café"}
        assert (rows[4].actor_kind, rows[4].actor_id, rows[4].subject_ref) == ("system", None, "9")
        with session_scope(fresh_engine, write=False) as session:
            head = session.get(AuditChainHead, 1)
            assert head is not None and (head.last_id, head.last_hash) == (5, rows[4].hash)

    def test_a_unit_rolled_back_in_its_savepoint_leaves_no_record(self, fresh_engine: Engine) -> None:
        with session_scope(fresh_engine) as session:
            record_order(session, "KEPT-1")
            with pytest.raises(InvalidInput), session.begin_nested():
                record_order(session, "REFUSED")
                raise InvalidInput("refused", loc=("body",))
            with session.begin_nested():
                record_order(session, "KEPT-2")

        assert [row.subject_ref for row in records(fresh_engine)] == ["KEPT-1", "KEPT-2"]
        assert verify_ok(fresh_engine)

    def test_a_transaction_rolled_back_leaves_no_record_and_the_chain_unchanged(
        self, fresh_engine: Engine
    ) -> None:
        commit_orders(fresh_engine, 1)
        with pytest.raises(RuntimeError), session_scope(fresh_engine) as session:
            record_order(session, "LOST")
            raise RuntimeError("the unit fails")
        commit_orders(fresh_engine, 1)

        assert [(row.id, row.subject_ref) for row in records(fresh_engine)] == [(1, "CMD-1"), (2, "CMD-1")]
        assert verify_ok(fresh_engine)

    def test_the_chain_holds_with_several_writers_at_once(self, fresh_engine: Engine) -> None:
        """On PostgreSQL the writers' transactions run concurrently and meet only at the chain's head;
        on SQLite they take turns. Either way, ids are gapless and every link holds."""
        barrier = threading.Barrier(4)
        failures: list[BaseException] = []

        def write(worker: int) -> None:
            try:
                barrier.wait()
                for n in range(15):
                    with session_scope(fresh_engine) as session:
                        record_order(session, f"W{worker}-{n}")
                        record_order(session, f"W{worker}-{n}-bis")
            except BaseException as exc:  # reported below, in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert failures == []
        rows = records(fresh_engine)
        assert [row.id for row in rows] == list(range(1, 121))
        assert verify_ok(fresh_engine)


def verify_ok(engine: Engine) -> bool:
    with session_scope(engine, write=False) as session:
        verdict = verify(session)
    return verdict.intact and verdict.checked == verdict.last_id


class TestVerify:
    def test_an_untouched_trail_passes(self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
        commit_orders(cli_engine, 5)

        assert main(["audit", "verify"]) == 0
        assert "audit trail intact: 5 records" in capsys.readouterr().out

    def test_an_empty_trail_passes(self, cli_engine: Engine) -> None:
        assert main(["audit", "verify"]) == 0

    def test_a_record_edited_in_the_database_is_named(
        self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        commit_orders(cli_engine, 5)
        execute(cli_engine, "UPDATE audit_record SET actor_name = 'mallory' WHERE id = 3")

        assert main(["audit", "verify"]) == 1
        assert capsys.readouterr().err == "record 3: its content does not match its hash (edited)\n"

    def test_details_edited_are_found_too(
        self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        commit_orders(cli_engine, 3)
        execute(
            cli_engine, """UPDATE audit_record SET details = '{"lines": 2, "total": "1.00"}' WHERE id = 2"""
        )

        assert main(["audit", "verify"]) == 1
        assert "record 2: its content does not match its hash" in capsys.readouterr().err

    def test_a_record_deleted_is_named(self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
        commit_orders(cli_engine, 5)
        execute(cli_engine, "DELETE FROM audit_record WHERE id = 2")

        assert main(["audit", "verify"]) == 1
        assert capsys.readouterr().err == "record 3: record(s) 2 before it are missing (deleted)\n"

    def test_the_last_record_deleted_is_named(
        self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        commit_orders(cli_engine, 4)
        execute(cli_engine, "DELETE FROM audit_record WHERE id = 4")

        assert main(["audit", "verify"]) == 1
        assert (
            "record 4: record(s) 4 at the end of the chain are missing (deleted)" in capsys.readouterr().err
        )

    def test_two_records_swapped_are_named(
        self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        commit_orders(cli_engine, 4)
        execute(cli_engine, "UPDATE audit_record SET id = -2 WHERE id = 2")
        execute(cli_engine, "UPDATE audit_record SET id = 2 WHERE id = 3")
        execute(cli_engine, "UPDATE audit_record SET id = 3 WHERE id = -2")

        assert main(["audit", "verify"]) == 1
        err = capsys.readouterr().err
        assert "record 2: its link to the record before it is broken" in err

    def test_a_record_renumbered_to_close_a_gap_is_named(
        self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        commit_orders(cli_engine, 4)
        execute(cli_engine, "DELETE FROM audit_record WHERE id = 4")
        execute(cli_engine, "UPDATE audit_chain_head SET last_id = 3")

        assert main(["audit", "verify"]) == 1
        assert "record 3: the last record's hash is not the head's" in capsys.readouterr().err


class TestExport:
    def test_json_export_lets_an_auditor_recompute_every_hash(self, fresh_engine: Engine) -> None:
        commit_orders(fresh_engine, 3)
        with session_scope(fresh_engine, write=False) as session:
            exported = json.loads("".join(export_json(session)))

        previous = GENESIS
        for item in exported["records"]:
            canonical = json.dumps(
                [item[key] for key in ("id", "recorded_at", "actor_kind", "actor_id", "actor_name", "action")]
                + [item["subject_kind"], item["subject_ref"], item["details"]],
                ensure_ascii=False,
                sort_keys=True,
                separators=(",", ":"),
            )
            assert item["previous_hash"] == previous
            assert hashlib.sha256((previous + canonical).encode()).hexdigest() == item["hash"]
            previous = item["hash"]
        assert exported["head"] == {"last_id": 3, "last_hash": previous}

    def test_csv_export_holds_the_same_records_and_hashes(self, fresh_engine: Engine) -> None:
        commit_orders(fresh_engine, 2)
        with session_scope(fresh_engine, write=False) as session:
            rows = list(csv.DictReader(io.StringIO("".join(export_csv(session)))))

        stored = records(fresh_engine)
        assert [row["hash"] for row in rows] == [row.hash for row in stored]
        assert rows[0]["details"] == '{"lines":1,"note":"café","total":"12.50"}'
        assert rows[0]["actor_name"] == "alice" and rows[0]["recorded_at"].endswith("+00:00")

    def test_the_command_writes_the_file_by_its_extension(
        self, cli_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        commit_orders(cli_engine, 2)

        assert main(["audit", "export", str(tmp_path / "trail.csv")]) == 0
        assert main(["audit", "export", str(tmp_path / "trail.json")]) == 0

        assert (tmp_path / "trail.csv").read_text(encoding="utf-8").startswith("id,recorded_at,actor_kind")
        assert len(json.loads((tmp_path / "trail.json").read_text(encoding="utf-8"))["records"]) == 2
        assert "exported 2 audit records" in capsys.readouterr().out


def test_records_are_counted_once_per_commit_on_a_test_session(session: Session) -> None:
    """The tests' session commits into a savepoint of the test's transaction: records appear there too."""
    record_order(session, "T-1")
    assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0
    session.commit()
    assert session.scalar(select(func.count()).select_from(AuditRecord)) == 1


def test_in_the_writers_batch_a_refused_unit_leaves_no_record(fresh_engine: Engine) -> None:
    writer = Writer(fresh_engine, max_batch=8)

    def refused(session: Session) -> None:
        record_order(session, "REFUSED")
        raise InvalidInput("refused", loc=("body",))

    async def submit_all() -> list[object]:
        units = [refused if n % 2 else (lambda s, n=n: record_order(s, f"OK-{n}")) for n in range(6)]
        return await asyncio.gather(*(writer.write(unit) for unit in units), return_exceptions=True)

    try:
        results = asyncio.run(submit_all())
    finally:
        writer.stop()
    assert sum(isinstance(result, InvalidInput) for result in results) == 3
    assert sorted(row.subject_ref for row in records(fresh_engine)) == ["OK-0", "OK-2", "OK-4"]
    assert verify_ok(fresh_engine)
