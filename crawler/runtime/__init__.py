"""The Scrapy runtime: spiders, middlewares, item pipelines, settings, the runner and its process pool.

The top of the crawler: it drives discovery, the HTML, text and file layers, facts and dedupe.
"""
