"""The bottom layer: plain values and rules every other package may use; it imports none of them.

- `chinese`: one normalisation of Chinese text (script, pinyin annotations) for cleaning and dedupe.
- `hashing`: the 64-bit mixer shared by fingerprints and the near-duplicate index.
- `timezone`: the one China time zone.
"""
