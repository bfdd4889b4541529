-- Live coupons (issue 14): dropped by a host in the room, claimed by viewers with one tap,
-- redeemed by checkout inside its transaction (the conditional `redeemed` counter and one
-- redemption row per order), and the discount on the order.

CREATE TABLE coupons (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    created_by INTEGER NOT NULL,
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('percent', 'amount')),
    value INTEGER NOT NULL CHECK (value > 0),
    currency TEXT NOT NULL,
    product_ids_json TEXT, -- NULL: the whole line-up
    total_limit INTEGER NOT NULL CHECK (total_limit > 0),
    per_buyer_limit INTEGER NOT NULL DEFAULT 1 CHECK (per_buyer_limit > 0),
    redeemed INTEGER NOT NULL DEFAULT 0 CHECK (redeemed >= 0 AND redeemed <= total_limit),
    after_show_minutes INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    media_time REAL,
    withdrawn_at REAL
);
CREATE INDEX coupons_session ON coupons (session_id, id);

CREATE TABLE coupon_claims (
    coupon_id INTEGER NOT NULL REFERENCES coupons (id),
    user_id INTEGER NOT NULL,
    claimed_at REAL NOT NULL,
    media_time REAL,
    PRIMARY KEY (coupon_id, user_id)
) WITHOUT ROWID;

CREATE TABLE coupon_redemptions (
    order_id TEXT PRIMARY KEY REFERENCES orders (id),
    coupon_id INTEGER NOT NULL REFERENCES coupons (id),
    buyer_id INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL CHECK (discount_minor >= 0),
    redeemed_at REAL NOT NULL
);
CREATE INDEX coupon_redemptions_coupon_buyer ON coupon_redemptions (coupon_id, buyer_id);

ALTER TABLE orders ADD COLUMN discount_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN coupon_id INTEGER;
