"""What a supplier (publisher, brand) may see of its titles during an outage: stock, orders,
shipments, backorders and returns, as a report for a period or an incident."""
