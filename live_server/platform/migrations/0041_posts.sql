-- Posts (Spark-style) with media and product tags, comments, smiles and follows.

CREATE TABLE posts (
    id         INTEGER PRIMARY KEY,
    author_id  INTEGER NOT NULL REFERENCES users(id),
    caption    TEXT NOT NULL DEFAULT '',
    sponsored  INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    deleted_at REAL
);
CREATE INDEX posts_author ON posts(author_id, id);

-- Uploaded first (validated), attached to a post when it is published.
CREATE TABLE post_media (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES users(id),
    post_id     INTEGER REFERENCES posts(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL DEFAULT 0,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    mime        TEXT NOT NULL,
    url         TEXT NOT NULL,
    poster_url  TEXT,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    duration_s  REAL,
    size_bytes  INTEGER NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX post_media_post ON post_media(post_id, position);

CREATE TABLE post_products (
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (post_id, product_id)
);

-- Comments and smiles apply to clips and posts alike.
CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('clip', 'post')),
    target_id   INTEGER NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    text        TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    created_at  REAL NOT NULL,
    deleted_at  REAL
);
CREATE INDEX comments_target ON comments(target_kind, target_id, id);

CREATE TABLE smiles (
    target_kind TEXT NOT NULL CHECK (target_kind IN ('clip', 'post')),
    target_id   INTEGER NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  REAL NOT NULL,
    PRIMARY KEY (target_kind, target_id, user_id)
) WITHOUT ROWID;
CREATE INDEX smiles_user ON smiles(user_id, created_at);

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES users(id),
    followee_id INTEGER NOT NULL REFERENCES users(id),
    created_at  REAL NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
) WITHOUT ROWID;
CREATE INDEX follows_followee ON follows(followee_id);
