"""The daemon: APScheduler jobs for crawls (each in its own process), digests and delivery retries."""
