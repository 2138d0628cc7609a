"""EDI ingestion, format layer: partner purchase orders in, acknowledgments out; no database.

Public API: :func:`app.edi.parse.parse_interchange` (bytes to :class:`app.edi.documents.Interchange`
or :class:`app.edi.issues.InterchangeRejected`), the builders in :mod:`app.edi.acknowledgments`,
and :func:`app.edi.samples.eancom_orders_interchange` for tests and benchmarks.
"""
