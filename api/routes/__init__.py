"""One router per area; ``api.main`` includes them all."""
