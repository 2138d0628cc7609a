"""Safe retries of writes: a caller's `Idempotency-Key` gets the first answer again, and nothing is
done twice. The HTTP edge (app/api.py, `Once`) is the only user; services know nothing of it."""
