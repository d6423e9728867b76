"""The replica site network: local county portals, an education bureau, a newspaper, a content-farm
mirror and a document-sharing site that tests, `countywatch demo` and the benchmarks crawl.

Nothing here reaches the internet: every site listens on its own loopback address (127.0.0.11,
127.0.0.12, ... — falling back to 127.0.0.1 with distinct ports where those cannot be bound), and
an off-domain host on 127.0.0.99 logs every request that reaches it (a correct crawl makes none).

API (stable; see docs/CONTRACTS.md):

    from replica.network import ReplicaNetwork
    with ReplicaNetwork(slow_seconds=0.2) as net:      # in_process=False: serve from a child process
        net.sites["zhenping"]          # SiteInfo: name, title, kind, region, base_url, host, encoding,
                                       #   template, start_urls, feeds, sitemaps
        net.config_dict(db_url)        # dict accepted by countywatch.config.config_from_dict
        net.expected                   # replica.expected.Expected: ground truth per cycle
        net.requests.records(site)     # [RequestRecord(site, host, method, path, status, headers, time)]
        net.requests.paths(site), net.requests.clear(), net.offsite_hits()
        net.advance()                  # cycle 2: zp-enrolment changes, zp-nutrition 404s (link kept),
                                       #   dq-teacher-certification 410s (unlisted), st-first-grade
                                       #   answers 200 with a "该信息已删除" page (link kept),
                                       #   zp-summer-holiday and dq-student-aid appear at the top of
                                       #   lists and feeds.
                                       # cycle 3+: same content as cycle 2, so conditional GETs get 304.
        net.cycle

    from replica.generate import GeneratedNetwork
    with GeneratedNetwork(n_sites=200, articles_per_site=30, in_process=False) as net:
        ...                            # same API; advance() adds ~1% new articles

Sites (replica/data/catalog.yaml): zhenping (Hanweb CMS, UTF-8, calendar trap, slow page, 500,
redirect loop, the changing and the 404 notice), dongqu (TRS CMS, createPageHTML pager, WAF 412,
off-domain redirect, 410, recruitment notice with table and PDF attachment, sitemap), ankang_jyj
(education bureau in GBK with government meta tags, robots.txt Disallow: /nbgl/, ~20 MB page,
binary served as text/html, GBK bytes declared UTF-8, GBK RSS), xiangtan_daily (newspaper,
`?page=2` lists, RSS, JavaScript challenge page), songtao (county portal; its enrolment notice is
replaced by a "该信息已删除" page), huaxia_mirror (traditional and pinyin copies), wentop
(document-sharing site). Columns in the list formats of real CMSs are added from
replica/data/cms_lists.yaml (replica.cms_lists): a Hanweb jpage column paged by dataproxy.jsp
(zhenping), a TRS page_div column (dongqu), a GBK list declaring UTF-8 whose next page is only a
下一页 link, with a notice declaring gb2312 that has 洺 in its title (ankang_jyj), and an RSS feed
songtao only advertises on its list pages. Every page answers with an ETag and Last-Modified
that stay the same while its bytes do, and 304 to a matching conditional request.
"""
