"""Deduplication: normalised text, content hash, SimHash and MinHash signatures."""
