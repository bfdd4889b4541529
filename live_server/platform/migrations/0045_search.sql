-- Search (live_server/search): full-text indexes over products, shows and creators.
-- External-content FTS5 tables: the text lives once, in its own table; each index holds
-- only tokens, kept in step by the triggers below whoever writes (the app, a migration,
-- an operator in the sqlite3 shell). Rows are indexed whatever their state (a deleted
-- product, a private show, a disabled account): the search service filters those out
-- at query time with the same rules every other read uses. Prefix indexes make
-- "bean" find "beanie" without scanning the whole vocabulary.

CREATE VIRTUAL TABLE products_fts USING fts5(
    title, description, category,
    content = 'products', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts(rowid, title, description, category)
    VALUES (NEW.id, NEW.title, NEW.description, NEW.category);
END;

CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts(products_fts, rowid, title, description, category)
    VALUES ('delete', OLD.id, OLD.title, OLD.description, OLD.category);
END;

CREATE TRIGGER products_fts_update AFTER UPDATE OF title, description, category ON products
BEGIN
    INSERT INTO products_fts(products_fts, rowid, title, description, category)
    VALUES ('delete', OLD.id, OLD.title, OLD.description, OLD.category);
    INSERT INTO products_fts(rowid, title, description, category)
    VALUES (NEW.id, NEW.title, NEW.description, NEW.category);
END;

CREATE VIRTUAL TABLE live_sessions_fts USING fts5(
    title, description,
    content = 'live_sessions', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

CREATE TRIGGER live_sessions_fts_insert AFTER INSERT ON live_sessions BEGIN
    INSERT INTO live_sessions_fts(rowid, title, description)
    VALUES (NEW.id, NEW.title, NEW.description);
END;

CREATE TRIGGER live_sessions_fts_delete AFTER DELETE ON live_sessions BEGIN
    INSERT INTO live_sessions_fts(live_sessions_fts, rowid, title, description)
    VALUES ('delete', OLD.id, OLD.title, OLD.description);
END;

CREATE TRIGGER live_sessions_fts_update AFTER UPDATE OF title, description ON live_sessions
BEGIN
    INSERT INTO live_sessions_fts(live_sessions_fts, rowid, title, description)
    VALUES ('delete', OLD.id, OLD.title, OLD.description);
    INSERT INTO live_sessions_fts(rowid, title, description)
    VALUES (NEW.id, NEW.title, NEW.description);
END;

CREATE VIRTUAL TABLE users_fts USING fts5(
    display_name, username,
    content = 'users', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts(rowid, display_name, username)
    VALUES (NEW.id, NEW.display_name, NEW.username);
END;

CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts(users_fts, rowid, display_name, username)
    VALUES ('delete', OLD.id, OLD.display_name, OLD.username);
END;

CREATE TRIGGER users_fts_update AFTER UPDATE OF display_name, username ON users BEGIN
    INSERT INTO users_fts(users_fts, rowid, display_name, username)
    VALUES ('delete', OLD.id, OLD.display_name, OLD.username);
    INSERT INTO users_fts(rowid, display_name, username)
    VALUES (NEW.id, NEW.display_name, NEW.username);
END;
