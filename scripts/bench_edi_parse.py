"""EDI parsing speed: a 1,000-message x 10-line EANCOM ORDERS interchange, tokenized and fully parsed.

Prints one line per figure: `name value unit`. Each figure is the median of several runs, with
the garbage collector run and the previous result freed between runs (PERF_NOTES: a benchmark that
keeps large parsed objects alive measures the collector, not the parser). The tokenizer is timed
as the parser runs it, with the cyclic collector paused.
"""

import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from stdnum import ean

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.edi.edifact_syntax import tokenize  # noqa: E402
from app.edi.parse import parse_interchange  # noqa: E402
from app.edi.perf import gc_paused  # noqa: E402
from app.edi.samples import eancom_orders_interchange  # noqa: E402

MESSAGES, LINES, RUNS = 1000, 10, 7


def median_seconds(work: Callable[[], object]) -> float:
    timings = []
    for _ in range(RUNS):
        gc.collect()
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
        del result
    return statistics.median(timings)


def tokenize_paused(data: bytes) -> object:
    with gc_paused():
        return tokenize(data)


def main() -> None:
    data = eancom_orders_interchange(
        MESSAGES,
        LINES,
        buyer_gln="5412345000013",
        delivery_gln="5412345000020",
        gtins=[gtin + ean.calc_check_digit(gtin) for gtin in (f"400638130{n:03d}" for n in range(500))],
        sender="5412345000013",
        receiver="5499999000009",
        control_ref="BENCH1",
    )
    segments = len(tokenize(data).segments)
    orders = len(parse_interchange(data).orders)
    assert orders == MESSAGES
    tokenize_s = median_seconds(lambda: tokenize_paused(data))
    parse_s = median_seconds(lambda: parse_interchange(data))
    print(f"edi_eancom_size {len(data) / 1000:.0f} kB")
    print(f"edi_eancom_segments {segments} segments")
    print(f"edi_eancom_tokenize_1000x10 {tokenize_s * 1000:.1f} ms")
    print(f"edi_eancom_parse_1000x10 {parse_s * 1000:.1f} ms")
    print(f"edi_eancom_parse_rate {MESSAGES / parse_s:.0f} orders/s")


if __name__ == "__main__":
    main()
