"""Goods leaving and coming back: shipping an order (its delivery note and deferred invoice), voiding
a delivery note (and its invoice), recording a return (and its deferred credit note). A flow across
capabilities, calling delivery and invoicing downhill."""
