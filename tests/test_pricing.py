"""Pricing rules, without a database: rounding, discounts, VAT per rate, totals that add up."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.money import round_money
from app.pricing import compute_totals, price_line

D = Decimal


class TestLineAmount:
    def test_rounds_half_up_to_the_cent(self) -> None:
        line = price_line(quantity=D(1), unit_price=D("0.125"), price_includes_vat=False, vat_rate=D(20))
        assert line.line_amount == D("0.13")

    def test_applies_line_then_customer_discount_in_cascade(self) -> None:
        line = price_line(
            quantity=D(2),
            unit_price=D("100"),
            price_includes_vat=False,
            vat_rate=D(20),
            line_discount_percent=D(10),
            customer_discount_percent=D(5),
        )
        assert line.line_amount == D("171.00")  # 200 x 0.90 x 0.95

    def test_vat_inclusive_line_keeps_its_gross_amount(self) -> None:
        line = price_line(quantity=D(3), unit_price=D("19.90"), price_includes_vat=True, vat_rate=D("5.5"))
        assert line.line_amount == D("59.70")
        assert line.net_amount == D("56.59")


class TestTotals:
    def test_vat_is_computed_on_the_sum_of_a_rates_lines_not_line_by_line(self) -> None:
        # Three lines of 0.05 net at 20 %: line by line, the VAT would be 3 x 0.01 = 0.03; on the sum, 0.03.
        # Three lines of 0.02 net at 20 %: line by line 3 x 0.00 = 0.00; on the sum 0.06 x 20 % = 0.01.
        lines = [
            price_line(quantity=D(1), unit_price=D("0.02"), price_includes_vat=False, vat_rate=D(20))
        ] * 3
        totals = compute_totals(lines)
        assert (totals.net, totals.vat, totals.gross) == (D("0.06"), D("0.01"), D("0.07"))

    def test_books_at_fixed_public_price_total_exactly_the_sum_of_their_prices(self) -> None:
        lines = [
            price_line(quantity=D(q), unit_price=D(p), price_includes_vat=True, vat_rate=D("5.5"))
            for q, p in [(1, "22.00"), (2, "7.95"), (5, "8.10")]
        ]
        totals = compute_totals(lines)
        assert totals.gross == D("78.40")
        assert totals.net == D("74.31")
        assert totals.vat == D("4.09")

    def test_mixed_rates_give_one_breakdown_line_per_rate_in_rate_order(self) -> None:
        lines = [
            price_line(quantity=D(1), unit_price=D("100"), price_includes_vat=False, vat_rate=D(20)),
            price_line(quantity=D(1), unit_price=D("10.55"), price_includes_vat=True, vat_rate=D("5.5")),
        ]
        totals = compute_totals(lines)
        assert [(v.rate, v.base, v.amount) for v in totals.vat_breakdown] == [
            (D("5.5"), D("10.00"), D("0.55")),
            (D(20), D("100.00"), D("20.00")),
        ]
        assert totals.gross == D("130.55")


money = st.decimals(min_value=D(0), max_value=D("99999.9999"), places=4)
rates = st.sampled_from([D(0), D("2.1"), D("5.5"), D(10), D(20)])
discounts = st.decimals(min_value=D(0), max_value=D(100), places=2)
lines_strategy = st.lists(
    st.builds(
        lambda q, p, incl, r, d1, d2: price_line(
            quantity=D(q),
            unit_price=p,
            price_includes_vat=incl,
            vat_rate=r,
            line_discount_percent=d1,
            customer_discount_percent=d2,
        ),
        st.integers(min_value=1, max_value=10_000),
        money,
        st.booleans(),
        rates,
        discounts,
        discounts,
    ),
    min_size=0,
    max_size=40,
)


@given(lines_strategy)
def test_totals_are_consistent_for_any_mix_of_lines(lines: list) -> None:
    totals = compute_totals(lines)
    assert totals.gross == totals.net + totals.vat
    assert sum((v.base for v in totals.vat_breakdown), D(0)) == totals.net
    assert sum((v.amount for v in totals.vat_breakdown), D(0)) == totals.vat
    for amount in (totals.net, totals.vat, totals.gross, *(v.amount for v in totals.vat_breakdown)):
        assert amount == round_money(amount)
    assert len({v.rate for v in totals.vat_breakdown}) == len(totals.vat_breakdown)


@given(lines_strategy)
def test_what_the_customer_pays_for_vat_inclusive_lines_is_the_sum_of_those_lines(lines: list) -> None:
    inclusive = [line for line in lines if line.price_includes_vat]
    assert compute_totals(inclusive).gross == sum((line.line_amount for line in inclusive), D(0))


@given(lines_strategy)
def test_vat_per_rate_is_within_a_cent_of_the_exact_figure(lines: list) -> None:
    for vat_line in compute_totals(lines).vat_breakdown:
        assert abs(vat_line.amount - vat_line.base * vat_line.rate / 100) <= D("0.01") * (
            1 + vat_line.rate / 100
        )
