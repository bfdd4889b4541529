-- Search: index the rows that existed before 0045 (a rebuild reads every row of each
-- content table; from here on the triggers keep the indexes in step).

INSERT INTO products_fts(products_fts) VALUES ('rebuild');
INSERT INTO live_sessions_fts(live_sessions_fts) VALUES ('rebuild');
INSERT INTO users_fts(users_fts) VALUES ('rebuild');

-- The feed's Following tab (content/feed): a followed creator's items, newest first.
CREATE INDEX feed_items_creator_created ON feed_items(creator_id, created_at DESC, id DESC)
    WHERE hidden = 0;
