"""Choosing the principal reasons behind a decision, and judging them against the catalog's declared directions."""
