"""Server-rendered HTML pages of the service (the agent lookup page)."""
