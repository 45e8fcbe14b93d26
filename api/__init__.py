"""The notices service: a thin FastAPI layer over :mod:`explain` and its audit store (see ``api.main``)."""
