"""`GeneratedNetwork`: hundreds of synthetic county sites for benchmarks, with the replica's API.

Sites vary among the Hanweb, TRS and education-bureau (GBK) templates; article bodies are drawn
from the sentences of the seeds, the hand-written notices and the corpus texts, so extraction,
classification and near-duplicate detection do real work; a share of articles are reposts of
another site's article (the same story). Each `advance()` adds about `new_per_cycle` new articles.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache

from replica.catalog import ArticleSpec, Attachment, Column, SiteSpec, Template, load_catalog
from replica.network import NetworkBase

# (province, city, county) of real counties, so region detection has something to find.
COUNTIES: tuple[tuple[str, str, str], ...] = (
    ("陕西省", "安康市", "平利县"),
    ("陕西省", "汉中市", "洋县"),
    ("陕西省", "商洛市", "丹凤县"),
    ("四川省", "攀枝花市", "米易县"),
    ("四川省", "巴中市", "通江县"),
    ("四川省", "广元市", "苍溪县"),
    ("湖南省", "湘潭市", "湘潭县"),
    ("湖南省", "株洲市", "攸县"),
    ("湖南省", "邵阳市", "隆回县"),
    ("贵州省", "遵义市", "湄潭县"),
    ("贵州省", "毕节市", "大方县"),
    ("贵州省", "铜仁市", "江口县"),
    ("河南省", "信阳市", "光山县"),
    ("河南省", "周口市", "郸城县"),
    ("甘肃省", "天水市", "秦安县"),
    ("云南省", "曲靖市", "会泽县"),
    ("江西省", "赣州市", "于都县"),
    ("安徽省", "六安市", "霍山县"),
    ("湖北省", "黄冈市", "英山县"),
    ("山西省", "吕梁市", "临县"),
    ("河北省", "保定市", "阜平县"),
    ("山东省", "临沂市", "沂南县"),
    ("浙江省", "丽水市", "松阳县"),
    ("福建省", "三明市", "尤溪县"),
)
EDUCATION_TITLES = (
    ("{year}年秋季义务教育阶段招生入学工作实施方案", "招生入学"),
    ("{year}年公开招聘中小学教师公告", "教师招聘"),
    ("关于做好{year}年初中学业水平考试报名工作的通知", "中高考"),
    ("关于{year}年暑假放假安排的通知", "放假"),
    ("{year}年家庭经济困难学生资助资金发放公示", "资助"),
    ("召开全县教育工作推进会", None),
    ("开展校园安全隐患大排查", None),
)
GENERAL_TITLES = (
    "召开安全生产工作会议",
    "推进农村公路提质改造",
    "开展春季森林防火检查",
    "召开乡村振兴工作推进会",
    "开展农村饮水安全专项排查",
    "召开经济运行分析会",
    "推进营商环境优化提升",
    "开展文明城市创建活动",
)
TEMPLATES: tuple[Template, ...] = ("hanweb", "trs", "bureau")
_COLUMNS: dict[str, tuple[Column, Column]] = {
    "hanweb": (Column("1235", "通知公告"), Column("1234", "工作动态")),
    "trs": (Column("xxgk/tzgg", "通知公告"), Column("xwzx/gzdt", "工作动态")),
    "bureau": (Column("tzgg", "通知公告"), Column("jydt", "教育动态")),
}
_SENTENCE = re.compile(r"[^。!?]+[。!?]")
EPOCH_DAY = datetime(2024, 4, 19, 9, 0)
ATTACHMENT_TEXT = "attachments/dongqu_posts_v1.txt"  # the lines of a generated notice's PDF


@cache
def _sentence_pools() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(education sentences, general sentences) from the hand-made catalogue's texts."""
    education: list[str] = []
    general: list[str] = []
    for site in load_catalog():
        if site.kind in ("mirror", "document_sharing"):
            continue  # traditional and paywalled texts would make every generated page noisy
        for article in site.articles:
            target = education if article.education else general
            for paragraph in article.body:
                target.extend(s.strip() for s in _SENTENCE.findall(paragraph) if len(s.strip()) > 12)
    return tuple(dict.fromkeys(education)), tuple(dict.fromkeys(general))


def _body(rng: random.Random, pool: tuple[str, ...], county: str) -> tuple[str, ...]:
    opening = f"近日,{county}召开专题会议,研究部署相关工作。"
    paragraphs = [opening]
    for _ in range(rng.randint(4, 7)):
        paragraphs.append("".join(rng.sample(pool, rng.randint(2, 4))))
    return tuple(paragraphs)


@dataclass(frozen=True)
class GeneratedCatalog:
    """The generated sites as a function of the cycle (picklable, so a child process can rebuild it)."""

    n_sites: int
    articles_per_site: int
    seed: int
    new_per_cycle: float
    repost_share: float
    attachment_share: float = 0.0  # share of education notices linking a PDF 岗位表 (附件)

    def _site(self, index: int) -> SiteSpec:
        province, city, county = COUNTIES[index % len(COUNTIES)]
        template = TEMPLATES[index % len(TEMPLATES)]
        bureau = template == "bureau"
        title = f"{county}{'教育体育局' if bureau else '人民政府'}"
        if index >= len(COUNTIES):
            title += f"(分站{index // len(COUNTIES)})"
        return SiteSpec(
            name=f"gen{index:03d}",
            title=title,
            kind="education_bureau" if bureau else "government",
            template=template,
            encoding="gbk" if bureau else "utf-8",
            region=f"{province}{city}{county}",
            address=f"127.1.{index // 250}.{index % 250 + 1}",
            columns=_COLUMNS[template],
            articles=(),
            per_page=10,
            feed=template != "trs",
            sitemap=template == "trs",
            sponsor=f"{county}人民政府办公室",
            organiser=f"{county}融媒体中心",
            site_code=f"{610000 + index:06d}0001",
            icp=f"陕ICP备{10000000 + index}号",
            police=f"陕公网安备{61000002000000 + index}号",
            phone=f"0915-{8800000 + index}",
        )

    def _article(
        self, rng: random.Random, site: SiteSpec, number: int, since: int, when: datetime
    ) -> ArticleSpec:
        county = COUNTIES[int(site.name.removeprefix("gen")) % len(COUNTIES)][2]
        education_pool, general_pool = _sentence_pools()
        education = rng.random() < 0.6
        if education:
            pattern, category = rng.choice(EDUCATION_TITLES)
            title = county + pattern.format(year=when.year)
            body = _body(rng, education_pool, county)
        else:
            title, category = county + rng.choice(GENERAL_TITLES), None
            body = _body(rng, general_pool, county)
        title += f"(第{number}期)"  # titles stay unique within a site
        # Which notices carry an attachment is a function of the number, not of the generator, so
        # the other articles come out the same whatever the share.
        attached = education and (number * 37 + len(site.name)) % 100 < self.attachment_share * 100
        attachment = (
            Attachment(name=f"{title}岗位表", file=f"P0{100000 + number}.pdf", text_file=ATTACHMENT_TEXT)
            if attached
            else None
        )
        return ArticleSpec(
            key=f"{site.name}-{number}",
            site=site.name,
            column=site.columns[0 if category else 1].id,
            id=100000 + number,
            title=title,
            date=f"{when:%Y-%m-%d %H:%M}",
            story=f"{site.name}-{number}",
            body=body,
            source=site.title,
            education=education,
            category=category,
            since=since,
            attachment=attachment,
        )

    def __call__(self, cycle: int) -> tuple[SiteSpec, ...]:
        """The sites with every article that exists up to `cycle`."""
        rng = random.Random(self.seed)
        sites = [self._site(i) for i in range(self.n_sites)]
        articles: list[list[ArticleSpec]] = [[] for _ in sites]
        for i, site in enumerate(sites):
            for n in range(self.articles_per_site):
                when = EPOCH_DAY - timedelta(days=n * 3 + i % 3, minutes=rng.randint(0, 480))
                articles[i].append(self._article(rng, site, n + 1, 1, when))
        self._reposts(rng, sites, articles)
        total = self.n_sites * self.articles_per_site
        for c in range(2, cycle + 1):
            cycle_rng = random.Random(self.seed * 1000003 + c)
            for k in range(max(1, round(total * self.new_per_cycle))):
                i = cycle_rng.randrange(self.n_sites)
                number = len(articles[i]) + 1
                when = EPOCH_DAY + timedelta(days=c - 1, minutes=k)
                articles[i].append(self._article(cycle_rng, sites[i], number, c, when))
        return tuple(replace(site, articles=tuple(a)) for site, a in zip(sites, articles, strict=True))

    def _reposts(self, rng: random.Random, sites: list[SiteSpec], articles: list[list[ArticleSpec]]) -> None:
        # A repost replaces one of a site's articles by another site's article: same story,
        # title and body, published a day later under the reposting site's URL scheme.
        if self.n_sites < 2:
            return
        for i, own in enumerate(articles):
            for position in range(len(own)):
                if rng.random() >= self.repost_share:
                    continue
                j = (i + 1 + rng.randrange(self.n_sites - 1)) % self.n_sites
                origin = articles[j][rng.randrange(len(articles[j]))]
                if origin.story != origin.key:
                    continue  # no reposts of reposts
                mine = own[position]
                own[position] = replace(
                    mine,
                    title=origin.title,
                    body=origin.body,
                    story=origin.story,
                    education=origin.education,
                    category=origin.category,
                    column=sites[i].columns[0 if origin.category else 1].id,
                    date=f"{origin.published + timedelta(days=1):%Y-%m-%d %H:%M}",
                )


class GeneratedNetwork(NetworkBase):
    """`n_sites` generated sites with `articles_per_site` articles each; same API as ReplicaNetwork."""

    def __init__(
        self,
        n_sites: int = 200,
        articles_per_site: int = 30,
        *,
        seed: int = 0,
        new_per_cycle: float = 0.01,
        repost_share: float = 0.1,
        attachment_share: float = 0.0,
        slow_seconds: float = 0.0,
        cycle: int = 1,
        in_process: bool = True,
    ) -> None:
        if not 1 <= n_sites <= 60000:
            raise ValueError(f"n_sites must be between 1 and 60000, got {n_sites}")
        if articles_per_site < 1:
            raise ValueError(f"articles_per_site must be at least 1, got {articles_per_site}")
        catalog = GeneratedCatalog(
            n_sites, articles_per_site, seed, new_per_cycle, repost_share, attachment_share
        )
        super().__init__(catalog, slow_seconds=slow_seconds, cycle=cycle, in_process=in_process)
