"""The audit trail: every change of state, who made it and when, in an append-only, hash-chained
record (`record`, called by the services inside the unit of work that makes the change)."""
