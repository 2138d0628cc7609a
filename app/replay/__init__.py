"""Replay into the ERP: everything captured during an outage, once each, in order, reconciled.

Where things are:
- transport (no database): `documents` (the neutral ERP document), `connectors/` (HTTP, files),
  `formats/` (UBL, Factur-X), `reference_erp` (a real-enough ERP for tests and benchmarks);
- the outbox: `models` (`replay_item`, `replay_dependency`, `replay_recap_member`, `replay_run`),
  `outbox` (filled by an idempotent sync when a run starts, not at capture), `repository` (queries);
- building what is sent: `sources` (rows loaded in batches), `building` (rows to ERP documents, the
  seller from the settings), `freezing` (documents built once at first claim and kept, final numbers);
- sending: `engine` (workers: claim in dependency order, send through a thread pool, record outcomes
  in batches, back off), `runs` (one run at a time, enforced by the database, with a heartbeat;
  crash recovery; joining from another process);
- reading: `values` and `reports` (the reconciliation: captured against acknowledged, per kind,
  customer and VAT rate), `report_formats` (CSV, PDF), `service` and `routes` (API), `commands` (CLI).

Decisions: cancelled orders, void documents and credit notes with no Carnet invoice to correct are
not replayed, and the report lists them; orders waiting for review are held until resolved (the
incident stays `recovering`). A run for an incident replays everything captured up to its end.
Invoices are numbered by the ERP (its number becomes the final number) or by Carnet from a gapless
outage series assigned in claim order (`CARNET_INVOICE_NUMBERING`), one per delivery note or one
recap per customer and month (`CARNET_INVOICE_GROUPING`).
"""
