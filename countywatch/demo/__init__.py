"""`countywatch demo`: a guided crawl of the local replica site network, ending in a digest.

The demo process serves the replica network (county portals, an education bureau, a newspaper,
a mirror and a document-sharing site on 127.0.0.x) and runs each crawl as a child
`countywatch crawl --json`, because Scrapy's reactor cannot restart within one process.

- `workdir`: the demo folder — its configuration, database, logs and digest files;
- `crawls`: one crawl child, supervised, with its progress streamed to the terminal;
- `summary`: the per-source tables and the database totals the demo prints;
- `flow`: the steps, in order.
"""
