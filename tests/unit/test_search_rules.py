"""Search rules: typed text becomes a safe FTS5 query (quoted prefix words, ANDed), and the
parameters are judged with sentences for people. SQLite itself checks every expression."""

from __future__ import annotations

import sqlite3

import pytest

from live_server.platform.errors import BadRequest
from live_server.search.rules import (
    MAX_TERMS,
    SearchKind,
    parse_kind,
    parse_limit,
    parse_query,
)


def test_words_become_quoted_prefixes() -> None:
    query = parse_query('  Merino "bean*  NEAR(wool) -cheap title:hat ')
    assert query.terms == ("merino", "bean", "near", "wool", "cheap", "title", "hat")
    assert query.match == '"merino"* "bean"* "near"* "wool"* "cheap"* "title"* "hat"*'


def test_symbols_only_is_an_empty_query_and_words_are_capped() -> None:
    assert parse_query('" * - ( ) ^ : _').empty
    assert parse_query(None).empty
    assert len(parse_query(" ".join(f"w{i}" for i in range(50))).terms) == MAX_TERMS
    assert parse_query("ＣＲÈＭＥ crème").terms == ("crème",)  # NFKC, case-folded, unique


@pytest.mark.parametrize(
    "raw", ['"', "NEAR(", "a OR b", "x AND NOT y", "col:val", "^start", "a*b*c", "é😀中文", "'--"]
)
def test_every_expression_is_valid_fts5(raw: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO t VALUES ('near a or b and not col val start é 中文')")
    query = parse_query(raw)
    if not query.empty:
        db.execute("SELECT * FROM t WHERE t MATCH ?", (query.match,)).fetchall()


def test_parameters_are_judged_in_words() -> None:
    assert parse_kind(None) is SearchKind.ALL
    assert parse_kind("creators") is SearchKind.CREATORS
    assert parse_limit(None) == 10 and parse_limit("30") == 30
    for bad in (lambda: parse_kind("users"), lambda: parse_limit("0"),
                lambda: parse_limit("31"), lambda: parse_limit("-1"),
                lambda: parse_query("x" * 201)):  # fmt: skip
        with pytest.raises(BadRequest) as caught:
            bad()
        assert caught.value.message[0].isupper()
