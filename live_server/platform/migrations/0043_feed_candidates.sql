-- Two-stage feed ranking: a stored popularity figure (freshness at the last refresh +
-- engagement + sponsored) and each item's first category, indexed, so a page is ranked
-- exactly over a few hundred indexed candidates instead of every row.

ALTER TABLE feed_items ADD COLUMN pop REAL NOT NULL DEFAULT 0;
ALTER TABLE feed_items ADD COLUMN primary_cat INTEGER NOT NULL DEFAULT -1;
CREATE INDEX feed_items_pop ON feed_items(pop DESC, id) WHERE hidden = 0;
CREATE INDEX feed_items_cat_pop ON feed_items(primary_cat, pop DESC, id) WHERE hidden = 0;
CREATE INDEX feed_items_creator_pop ON feed_items(creator_id, pop DESC, id) WHERE hidden = 0;
