"""Distributed crawling on scrapy-redis: many `countywatch worker` processes share one Redis.

The pieces: `codec` (requests as JSON, never pickle), `seen` (the seen-URL filter whose entries
expire), `queue` (the reliable request queue: a claimed request sits in its worker's processing set
until acknowledged, and a dead worker's claims go back to the queue), `claims` (when a claim is
done), `scheduler`, `spider`, `store` and `database` (stores and migrations safe with many workers),
`settings`, `enqueue` (the push of due sources' start requests) and `worker` (one worker process).
See docs/distributed.md.
"""
