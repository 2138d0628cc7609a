"""Incidents: the ERP outages Carnet covers. While one is open the system is degraded; once ended,
it is recovering until the replay of what was captured in its window has completed."""
