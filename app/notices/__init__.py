"""Customers kept informed by email: an order's confirmation, each delivery, a backorder that ships.
Nothing on the capture or shipping path waits for mail: the notices are found after the fact, written
to an outbox, and sent from there (again after a refusal, once accepted never again)."""
