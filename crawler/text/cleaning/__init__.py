"""Chinese text cleaning: small modules of pure `str -> str` / `str -> value` functions.

- `pinyin`: undo "traditional with pinyin" mirror converters and their GBK debris.
- `script`: width folding (traditional → simplified and pinyin stripping are in core/chinese.py).
- `boilerplate`: banners, breadcrumbs, print/share links, pagers, government footers, tail blocks.
- `captions`: photo captions and image labels, apart from body paragraphs and sub-headings.
- `noise`: injected spam, paywall/preview cuts, template placeholders, document-sharing sites.
- `title`: headline lines, `【source】` prefixes, site suffixes, series lines.
"""
