"""The rules of shipping an order, without a database: status and backorders after each shipment."""

from decimal import Decimal

import pytest

from app.errors import Conflict
from app.orders.models import OrderStatus, SaleOrder, SaleOrderLine
from app.orders.service import record_shipment, shipping_status


def order(*quantities: int, status: OrderStatus = OrderStatus.CAPTURED) -> SaleOrder:
    lines = [
        SaleOrderLine(
            line_no=n, quantity=Decimal(q), shipped_quantity=Decimal(0), backordered_quantity=Decimal(0)
        )
        for n, q in enumerate(quantities, start=1)
    ]
    return SaleOrder(number="CMD-2026-000001", status=status, lines=lines)


def state(sale: SaleOrder) -> tuple[str, list[tuple[int, int]]]:
    return sale.status, [(int(line.shipped_quantity), int(line.backordered_quantity)) for line in sale.lines]


class TestRecordShipment:
    def test_part_of_an_order_leaves_every_line_rest_as_a_backorder(self) -> None:
        sale = order(5, 2)
        record_shipment(sale, quantities={1: Decimal(3)})
        assert state(sale) == ("partially_shipped", [(3, 2), (0, 2)])

    def test_the_last_units_ship_the_order_and_clear_its_backorders(self) -> None:
        sale = order(5, 2)
        record_shipment(sale, quantities={1: Decimal(3)})
        record_shipment(sale, quantities={1: Decimal(2), 2: Decimal(2)})
        assert state(sale) == ("shipped", [(5, 0), (2, 0)])

    def test_taking_back_the_only_shipment_reopens_the_order_without_backorders(self) -> None:
        sale = order(5)
        record_shipment(sale, quantities={1: Decimal(5)})
        record_shipment(sale, quantities={1: Decimal(-5)})
        assert state(sale) == ("captured", [(0, 0)])

    def test_taking_back_one_of_two_shipments_restores_the_backorder(self) -> None:
        sale = order(5)
        record_shipment(sale, quantities={1: Decimal(2)})
        record_shipment(sale, quantities={1: Decimal(3)})
        record_shipment(sale, quantities={1: Decimal(-3)})
        assert state(sale) == ("partially_shipped", [(2, 3)])

    @pytest.mark.parametrize("status", [OrderStatus.CANCELLED, OrderStatus.NEEDS_REVIEW])
    def test_orders_that_may_not_ship_are_refused(self, status: OrderStatus) -> None:
        with pytest.raises(Conflict):
            record_shipment(order(1, status=status), quantities={1: Decimal(1)})


def test_status_follows_the_shipped_quantities() -> None:
    sale = order(2, 2)
    assert shipping_status(sale.lines) == "captured"
    sale.lines[0].shipped_quantity = Decimal(2)
    assert shipping_status(sale.lines) == "partially_shipped"
    sale.lines[1].shipped_quantity = Decimal(2)
    assert shipping_status(sale.lines) == "shipped"
