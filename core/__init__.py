"""The bottom layer: plain values and rules every other package may use; it imports none of them.

- `config`: the configuration models (typed; durations are timedeltas), read by every layer.
- `chinese`: one normalisation of Chinese text (script, pinyin annotations) for cleaning and dedupe.
- `textable`: terminal tables aligned by display width.
- `urls`: URL canonicalisation (one key per article page).
- `hashing`: the 64-bit mixer shared by fingerprints and the near-duplicate index.
- `timezone`: the one China time zone.
"""
