"""Deduplication: normalised text, content hash and MinHash signatures."""
