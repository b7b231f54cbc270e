"""Catalog: categories, products, variants and per-channel listings."""
