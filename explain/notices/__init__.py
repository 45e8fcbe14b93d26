"""Notices: locales and catalogs, value formatting, the lender profile and jurisdiction packs, rendering."""
