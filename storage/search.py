"""Full-text search over stored articles: an index, not `LIKE` over every row.

SQLite keeps an FTS5 table with the trigram tokenizer (rowid = article id); PostgreSQL a plain table
with a GIN `pg_trgm` index. Both index the same document (`search_document`) and both find a term
as a substring, which is what Chinese needs: there are no spaces between words to tokenize on.

A trigram index cannot answer a term shorter than three characters (暑假, 招生): such terms fall
back to a substring scan of the indexed documents, still correct, only slower. Migration 0005
creates the index for existing databases; `storage.ingest` keeps it current.

The search tables are not in the models' metadata (an FTS5 table has no portable SQLAlchemy form),
so `include_name` keeps them out of Alembic's model comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    column,
    event,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import Article

SEARCH_TABLE = "article_search"
TRIGRAM_INDEX = f"ix_{SEARCH_TABLE}_document"
# Trigram indexes need at least this many characters to narrow a search.
MIN_INDEXED_CHARS = 3
_FILL_BATCH = 1000
# A term is common when at least COMMON_MATCHES of the newest PROBE_WINDOW articles hold it (2%):
# then reading the newest articles until a page is full beats sorting every match. (A page of 20
# over 100,000 articles: both ways cost about the same near sqrt(20 * 100,000) ~ 1,400 matches.)
PROBE_WINDOW = 500
COMMON_MATCHES = 10
_LIKE_SPECIALS = re.compile(r"([\\%_])")


def search_document(title: str | None, text: str) -> str:
    """The text an article is found by: its title and its body, one per line, lower-cased.

    Lower-cased once here, so that PostgreSQL matches with a plain `LIKE` (the trigram index
    answers it as well as `ILIKE`): `ILIKE` lower-cases every document it checks, which made a
    common term cost hundreds of milliseconds. FTS5's trigram tokenizer folds case itself.
    """
    return "\n".join(part for part in (title or "", text) if part).lower()


def search_terms(query: str) -> list[str]:
    """The terms of a search, lower-cased as the documents are: words separated by spaces."""
    return list(dict.fromkeys(query.lower().split()))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic filter: the search tables (and FTS5's shadow tables) are not model tables."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE))


def _like_pattern(term: str) -> str:
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", term) + "%"


def _fts_phrase(term: str) -> str:
    # A quoted FTS5 string is one phrase: the trigram tokenizer matches it as a substring.
    return '"' + term.replace('"', '""') + '"'


def create_index(connection: Connection) -> None:
    """Create the search table and its index, and fill it from the stored articles."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5(document, tokenize='trigram')"
        )
        _fill(connection, f"INSERT INTO {SEARCH_TABLE} (rowid, document) VALUES (:id, :document)")
        return
    schema = _pg_trgm_schema(connection)
    connection.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} ("
        "article_id integer NOT NULL, document text NOT NULL, "
        f"CONSTRAINT pk_{SEARCH_TABLE} PRIMARY KEY (article_id), "
        f"CONSTRAINT fk_{SEARCH_TABLE}_article_id_articles FOREIGN KEY (article_id) "
        "REFERENCES articles (id) ON DELETE CASCADE)"
    )
    # Filled first, indexed after: building a GIN index once is far cheaper than growing it row by row.
    _fill(connection, f"INSERT INTO {SEARCH_TABLE} (article_id, document) VALUES (:id, :document)")
    create_trigram_index(connection, schema)


def create_trigram_index(connection: Connection, schema: str | None = None) -> None:
    """PostgreSQL: the GIN trigram index over the search documents (after a bulk load, say)."""
    schema = schema or _pg_trgm_schema(connection)
    connection.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON {SEARCH_TABLE} "
        f'USING gin (document "{schema}".gin_trgm_ops)'
    )


def drop_trigram_index(connection: Connection) -> None:
    """PostgreSQL: drop the trigram index, before loading many documents at once."""
    connection.exec_driver_sql(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


def _fill(connection: Connection, insert: str) -> None:
    """Index every stored article, a batch at a time (an old database may hold many)."""
    # On the statement, not the connection: a connection's options would outlive this query.
    query = text("SELECT id, title, text FROM articles ORDER BY id").execution_options(yield_per=_FILL_BATCH)
    result = connection.execute(query)
    for rows in result.partitions():
        connection.execute(
            text(insert), [{"id": r.id, "document": search_document(r.title, r.text)} for r in rows]
        )


def _pg_trgm_schema(connection: Connection) -> str:
    """The schema holding pg_trgm, installed (into `public`, where databases share it) when missing.

    The extension is database-wide: installing it into a per-application schema would tie every
    other schema's index to that one, and dropping it would take them along.
    """
    found = _extension_schema(connection)
    if found is not None:
        return found
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    except DBAPIError:
        # Another migration installed it at the same moment (a unique violation): use theirs.
        pass
    found = _extension_schema(connection)
    if found is None:
        raise RuntimeError("the pg_trgm extension could not be installed (it needs PostgreSQL's contrib)")
    return found


def _extension_schema(connection: Connection) -> str | None:
    query = text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )
    value = connection.execute(query).scalar()
    return str(value) if value is not None else None


def drop_index(connection: Connection) -> None:
    """Remove the search table (the pg_trgm extension stays: other schemas may use it)."""
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")


_SQLITE_INDEX = text(f"INSERT OR REPLACE INTO {SEARCH_TABLE} (rowid, document) VALUES (:id, :document)")
_ARTICLE_IDS = select(Article.id).where(Article.id.in_(bindparam("ids", expanding=True)))
# Session.info key: (the transaction, {article id: document}) of new articles not indexed yet.
_WAITING = "countywatch.search_waiting"
_POSTGRES_INDEX = text(
    f"INSERT INTO {SEARCH_TABLE} (article_id, document) VALUES (:id, :document) "
    "ON CONFLICT (article_id) DO UPDATE SET document = excluded.document"
)


def index_article(session: Session, article_id: int, document: str, *, new: bool = False) -> None:
    """Put an article's current document in the search index (replacing what it had).

    `new`: the article row was inserted in this transaction. On SQLite its document then waits
    for the transaction's commit (or this session's next search), where the waiting documents go
    in with one statement: FTS5 writes out what it holds at every savepoint, and the crawl's writer
    opens one per article, so each document became an index segment of its own, written and merged
    again at about half a millisecond per article (more than all the article's other rows).
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        connection.execute(_POSTGRES_INDEX, {"id": article_id, "document": document})
        return
    if new:
        _waiting(session)[article_id] = document
        return
    held = session.info.get(_WAITING)
    if held is not None:
        # Indexed now: a document still waiting under this id must not overwrite it at commit.
        held[1].pop(article_id, None)
    # FTS5 honours OR REPLACE on its rowid (it takes out the old document's trigrams first).
    connection.execute(_SQLITE_INDEX, {"id": article_id, "document": document})


def _waiting(session: Session) -> dict[int, str]:
    """The documents of new articles waiting to be indexed in the session's current transaction."""
    root = session.get_transaction()
    held = session.info.get(_WAITING)
    if held is None:
        event.listen(session, "before_commit", _write_waiting)
    if held is None or held[0] is not root:
        held = (root, {})
        session.info[_WAITING] = held
    return held[1]


def _write_waiting(session: Session) -> None:
    """Index the waiting documents: before the transaction commits (not at a savepoint's release)."""
    if not session.in_nested_transaction():
        write_waiting(session)


def write_waiting(session: Session) -> None:
    """Index the documents of this transaction's new articles that are still waiting (SQLite).

    Those of articles whose savepoint was rolled back are left out: their id is not (or no longer)
    an article's. An id taken again by a later new article holds that article's document, which
    replaced the first one's when it was put to wait. Inside a savepoint the documents are written
    and kept waiting (written again at commit, the same rows), since the savepoint may roll back.
    """
    held = session.info.get(_WAITING)
    if held is None or held[0] is not session.get_transaction() or not held[1]:
        return
    waiting = held[1]
    connection = session.connection()
    present = set(connection.scalars(_ARTICLE_IDS, {"ids": list(waiting)}))
    rows = [{"id": article_id, "document": waiting[article_id]} for article_id in sorted(present)]
    if rows:
        connection.execute(_SQLITE_INDEX, rows)
    if not session.in_nested_transaction():
        waiting.clear()


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """How a search is answered: ids from the index, and terms checked article by article."""

    found: Select[Any] | None  # the ids the index matched (few), if it was asked
    scanned: tuple[str, ...]  # terms to check against each article's document as it is read
    dialect: str

    def condition(self, article_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """The article with id `article_id` is among the index's matches and passes the checks."""
        found = [article_id.in_(self.found)] if self.found is not None else []
        return and_(true(), *found, self.check(article_id))

    def check(self, article_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """The scanned terms all occur in the document of the article with id `article_id`.

        A scalar subquery, not EXISTS: PostgreSQL turns EXISTS into a join over the whole index
        table, which reads every document; a scalar subquery stays one lookup per article read.
        """
        key_name = "rowid" if self.dialect == "sqlite" else "article_id"
        scanned = table(SEARCH_TABLE, column(key_name), column("document")).alias("scanned")
        document = select(scanned.c.document).where(scanned.c[key_name] == article_id).scalar_subquery()
        return and_(true(), *(document.like(_like_pattern(t), escape="\\") for t in self.scanned))


def plan(session: Session, query: str) -> SearchPlan:
    """How to find the articles whose document holds every term of `query`.

    Lists are read newest first and a page at a time, so there are two ways to answer:
    - look the terms up in the index once and keep those articles (`IN (subquery)`): best when
      few articles match, since the index hands over every match and they are then sorted;
    - check each article's document as the newest-first scan reaches it: best when many match,
      since a page fills after a few rows. Terms under three characters can only be answered so.
    To choose, the newest PROBE_WINDOW articles are checked (a bounded probe, the same per-row
    check the scan makes): how densely the newest articles match is what decides how soon the scan
    fills a page. Counting matches through the index instead means re-reading each match's whole
    document to confirm it (trigram hits are candidates), which for a common term cost more than
    the search itself.
    """
    terms = search_terms(query)
    dialect = session.get_bind().dialect.name
    write_waiting(session)  # this transaction's new articles are found too
    long_terms = [t for t in terms if len(t) >= MIN_INDEXED_CHARS]
    if long_terms:
        key_name = "rowid" if dialect == "sqlite" else "article_id"
        index = table(SEARCH_TABLE, column(key_name), column("document"))
        if dialect == "sqlite":
            phrase = " AND ".join(_fts_phrase(t) for t in long_terms)
            found = select(index.c[key_name]).where(literal_column(SEARCH_TABLE).op("MATCH")(phrase))
        else:
            patterns = (index.c.document.like(_like_pattern(t), escape="\\") for t in long_terms)
            found = select(index.c[key_name]).where(*patterns)
        newest = (
            select(Article.id)
            .order_by(Article.first_seen.desc(), Article.id.desc())
            .limit(PROBE_WINDOW)
            .subquery()
        )
        probe = (
            select(func.count())
            .select_from(newest)
            .where(SearchPlan(None, tuple(long_terms), dialect).check(newest.c.id))
        )
        if (session.scalar(probe) or 0) < COMMON_MATCHES:
            short_terms = tuple(t for t in terms if len(t) < MIN_INDEXED_CHARS)
            return SearchPlan(found, short_terms, dialect)
    return SearchPlan(None, tuple(terms), dialect)


def matches(session: Session, query: str) -> ColumnElement[bool]:
    """A condition on Article: every term of `query` occurs in the article's search document."""
    return plan(session, query).condition(Article.id)


def like_matches(query: str) -> ColumnElement[bool]:
    """The same condition by `LIKE` over the articles' own columns: the baseline the index replaces."""
    return and_(
        true(),
        *(
            or_(Article.title.contains(t, autoescape=True), Article.text.contains(t, autoescape=True))
            for t in search_terms(query)
        ),
    )


def index_size(engine: Engine) -> int:
    """How many documents the search index holds."""
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {SEARCH_TABLE}")).scalar() or 0)
