"""Search rules: what a person typed, turned into a safe SQLite FTS5 query.

FTS5 has its own query language (`"phrases"`, `NEAR(...)`, `AND`/`OR`/`NOT`, `-`, `*`,
`^`, column filters `title:`); typed straight into MATCH, a stray quote or bracket is a
syntax error and an operator changes the meaning. So nothing typed is ever passed on as
syntax: the text is cut into words the way the index's tokenizer cuts it (letters and
digits; everything else separates words), each word becomes a quoted string with a
prefix star (`"bean"*` finds "beanie"), and the words are ANDed. `NEAR(` becomes the
word "near", `"` and `-` are separators, and a query of symbols only matches nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from live_server.platform.errors import BadRequest

#: Longest query accepted (characters, after trimming): longer is a 400.
MAX_QUERY_CHARS = 200
#: Words used from a query (the rest are ignored: enough to narrow, cheap to match).
MAX_TERMS = 8
#: Longest word kept (an FTS token longer than this is a paste, not a search).
MAX_TERM_CHARS = 40
DEFAULT_LIMIT = 10
MAX_LIMIT = 30

# unicode61 keeps letters, numbers and private-use characters together; `_` separates.
_WORD = re.compile(r"[^\W_]+")


class SearchKind(StrEnum):
    """What to search: everything, or one group of results."""

    ALL = "all"
    PRODUCTS = "products"
    SHOWS = "shows"
    CREATORS = "creators"

    def includes(self, group: SearchKind) -> bool:
        return self is SearchKind.ALL or self is group


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: the words found and the FTS5 expression that matches them all."""

    terms: tuple[str, ...]

    @property
    def match(self) -> str:
        """The MATCH expression: every word as a quoted prefix string, ANDed."""
        return " ".join('"' + term.replace('"', '""') + '"*' for term in self.terms)

    @property
    def empty(self) -> bool:
        return not self.terms


def terms_of(text: str) -> tuple[str, ...]:
    """The words of `text` as the index sees them (NFKC-normalised, lower case, unique)."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    words = [w[:MAX_TERM_CHARS] for w in _WORD.findall(normal)]
    return tuple(dict.fromkeys(words))[:MAX_TERMS]


def parse_query(raw: str | None) -> SearchQuery:
    """The query from `?q=`; a missing or symbols-only one is empty (it finds nothing)."""
    text = raw or ""
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(
            f"Searches can be at most {MAX_QUERY_CHARS} characters long.", code="query_too_long"
        )
    return SearchQuery(terms_of(text))


def parse_kind(raw: str | None) -> SearchKind:
    """`?kind=`: all (the default), products, shows or creators."""
    if not raw:
        return SearchKind.ALL
    try:
        return SearchKind(raw)
    except ValueError:
        raise BadRequest(
            "Choose what to search: all, products, shows or creators.", code="invalid_kind"
        ) from None


def parse_limit(raw: str | None) -> int:
    """`?limit=`: results per group, 1 to MAX_LIMIT."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (len(raw) <= 3 and raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(
            f"The number of results must be a whole number from 1 to {MAX_LIMIT}.",
            code="invalid_limit",
        )
    return int(raw)
