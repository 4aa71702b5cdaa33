"""Shared foundation of orgreg: settings, schema, normalisation, sources, quality and the store."""
