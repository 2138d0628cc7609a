"""Orders by email: messages taken from a mailbox (IMAP) or handed in by a rep, kept as received,
matched to a customer, their order files turned into orders, the rest waiting in the reps' inbox."""
