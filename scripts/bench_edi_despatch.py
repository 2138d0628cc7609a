"""Despatch advice for a 200-line shipment of an EDI order, on SQLite (file database, WAL,
synchronous FULL as in production). Prints one `name value unit` line per figure (medians):

* edi_desadv_200lines_build / edi_856_200lines_build: the message alone, from the shipment;
* edi_despatch_hook_200lines: what the despatch advice adds inside the shipping unit of work (the
  EDI side of the order read, the advice built, numbered and put in the partner's outbox);
* edi_ship_200lines_with_desadv / _without: the whole shipping unit of work, committed (lock the
  order and its products, the delivery note, its deferred invoice, and the partner's despatch advice
  when its profile asks for one).
"""

import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.service import Actor  # noqa: E402
from app.db import make_engine, session_scope  # noqa: E402
from app.delivery.models import DeliveryNote  # noqa: E402
from app.edi import outbound  # noqa: E402
from app.edi.ack_common import AckControl  # noqa: E402
from app.edi.despatch import eancom_desadv, x12_856  # noqa: E402
from app.edi.models import EdiOrder, EdiPartnerProfile  # noqa: E402
from app.edi.order_record import response_subject, stored_lines  # noqa: E402
from app.fulfilment.service import ship_order  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.orders.models import SaleOrder  # noqa: E402
from tests.builders import make_product  # noqa: E402
from tests.edi.edi_builders import Line, ingest, make_hub, order_edifact  # noqa: E402

LINES, RUNS = 200, 7
WAREHOUSE = Actor(kind="user", id=2, name="bench-warehouse", role="warehouse")
NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def seed(path: Path, *, despatch_advice: bool) -> str:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_scope(engine) as session:
        hub = make_hub(session)
        if despatch_advice:
            session.add(
                EdiPartnerProfile(
                    partner_id=hub.partner.id, despatch_advice=True, updated_at=NOW, updated_by="b"
                )
            )
        products = [make_product(session, stock="1000") for _ in range(LINES)]
        lines = [Line(p.gtin or "", 3, number=str(n)) for n, p in enumerate(products, start=1)]
        [number] = ingest(session, hub, order_edifact(lines)).body["orders"]
    engine.dispose()
    return str(number)


def ship_once(template: Path, workdir: Path, number: str) -> tuple[float, float, float, float]:
    target = workdir / "run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, target)
    engine = make_engine(f"sqlite:///{target}")
    with session_scope(engine):
        pass
    hook = [0.0]
    after_shipment = outbound.after_shipment

    def timed_hook(session: Session, *, note: DeliveryNote) -> None:
        started = time.perf_counter()
        after_shipment(session, note=note)
        hook[0] = time.perf_counter() - started

    outbound.after_shipment = timed_hook  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        with session_scope(engine) as session:
            note = ship_order(session, number=number, lines=None, actor=WAREHOUSE)
            order_id = note.order_id
        shipped = time.perf_counter() - started
    finally:
        outbound.after_shipment = after_shipment  # type: ignore[method-assign]
    with session_scope(engine) as session:
        link = session.execute(select(EdiOrder).where(EdiOrder.order_id == order_id)).scalar_one()
        note = session.execute(
            select(DeliveryNote)
            .where(DeliveryNote.order_id == order_id)
            .options(
                selectinload(DeliveryNote.lines),
                selectinload(DeliveryNote.order).selectinload(SaleOrder.lines),
            )
        ).scalar_one()
        interchange, _ = response_subject(link.format, link.document, stored_lines(link.lines))
        advice = outbound.despatch_advice(link, note, parties=())
        control = AckControl(interchange_ref="1", prepared_at=NOW)
        built = time.perf_counter()
        eancom_desadv(interchange.envelopes[0], advice, control=control)
        desadv = time.perf_counter() - built
        built = time.perf_counter()
        x12_856(interchange.envelopes[0], advice, control=control)
        x12 = time.perf_counter() - built
    engine.dispose()
    return shipped, hook[0], desadv, x12


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        figures = {}
        for label, wanted in (("with_desadv", True), ("without", False)):
            template = workdir / f"{label}.db"
            number = seed(template, despatch_advice=wanted)
            runs = [ship_once(template, workdir, number) for _ in range(RUNS)]
            figures[label] = statistics.median(r[0] for r in runs)
            if wanted:
                figures["hook"] = statistics.median(r[1] for r in runs)
                figures["desadv"] = statistics.median(r[2] for r in runs)
                figures["856"] = statistics.median(r[3] for r in runs)
    print(f"edi_desadv_{LINES}lines_build {figures['desadv'] * 1000:.1f} ms")
    print(f"edi_856_{LINES}lines_build {figures['856'] * 1000:.1f} ms")
    print(f"edi_despatch_hook_{LINES}lines {figures['hook'] * 1000:.1f} ms")
    print(f"edi_ship_{LINES}lines_with_desadv {figures['with_desadv'] * 1000:.1f} ms")
    print(f"edi_ship_{LINES}lines_without {figures['without'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
