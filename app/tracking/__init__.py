"""Where an order stands, for the customer who placed it: an unguessable link per order, no sign-in."""
