"""The web desk: server-rendered pages for reps, the warehouse, finance and admins, and the customer's
status page. Pages call the same services as the API; htmx only swaps fragments the server renders."""
