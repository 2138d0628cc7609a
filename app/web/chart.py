"""A bar chart drawn on the server as SVG geometry: per day, what was captured and what still waits
for the ERP (no chart library, nothing loaded in the browser)."""

from dataclasses import dataclass
from decimal import Decimal

from app.invoicing.summary import DayAmounts

WIDTH = 720
HEIGHT = 180
BOTTOM = 20  # room for the day labels


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    captured_y: float
    captured_height: float
    waiting_y: float
    waiting_height: float
    label: str
    captured: Decimal
    waiting: Decimal


@dataclass(frozen=True)
class DayChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    top: Decimal


def day_bars(days: list[DayAmounts]) -> DayChart:
    top = max((max(d.captured, d.waiting, Decimal(0)) for d in days), default=Decimal(0))
    scale = (HEIGHT - BOTTOM) / float(top) if top > 0 else 0.0
    slot = WIDTH / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        captured = max(float(day.captured), 0.0) * scale
        waiting = max(float(day.waiting), 0.0) * scale
        x = index * slot + slot * 0.15
        bars.append(
            Bar(
                x=x,
                width=slot * 0.35,
                captured_y=HEIGHT - BOTTOM - captured,
                captured_height=captured,
                waiting_y=HEIGHT - BOTTOM - waiting,
                waiting_height=waiting,
                label=day.day.strftime("%d/%m"),
                captured=day.captured,
                waiting=day.waiting,
            )
        )
    return DayChart(WIDTH, HEIGHT, tuple(bars), top)
