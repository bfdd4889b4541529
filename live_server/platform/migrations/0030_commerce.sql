-- Commerce (issue 5): orders with their stock holds, carts, checkout profiles,
-- flash sales, commission rates and the card/cart events analytics counts.
-- Product, user, session, clip and post ids (integers) are stored without foreign keys so
-- that orders survive deletions and other areas' tables can evolve on their own.

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    buyer_id INTEGER NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('pending_payment', 'confirmed', 'paid', 'cancelled', 'expired')),
    total_minor INTEGER NOT NULL CHECK (total_minor >= 0),
    currency TEXT NOT NULL,
    payment_provider TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    payment_ref TEXT,
    payment_status TEXT NOT NULL,
    address_json TEXT,
    source_type TEXT NOT NULL,
    source_id INTEGER,
    creator_id INTEGER,
    session_id INTEGER,
    media_time REAL,
    commission_rate_bp INTEGER NOT NULL DEFAULT 0,
    commission_minor INTEGER NOT NULL DEFAULT 0,
    show_first_name INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL,
    request_fingerprint TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    hold_expires_at REAL,
    UNIQUE (buyer_id, idempotency_key)
);
CREATE INDEX orders_buyer_created ON orders (buyer_id, created_at);
CREATE INDEX orders_pending_hold ON orders (hold_expires_at) WHERE status = 'pending_payment';
CREATE INDEX orders_session_created ON orders (session_id, created_at) WHERE session_id IS NOT NULL;
CREATE INDEX orders_creator_created ON orders (creator_id, created_at) WHERE creator_id IS NOT NULL;

-- One row per product in an order. buyer_id and active are copied from the order so the
-- per-buyer cap check is one indexed lookup; active = 0 once the order gave its units back.
CREATE TABLE order_items (
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL,
    buyer_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    currency TEXT NOT NULL,
    title TEXT NOT NULL,
    seller_id INTEGER,
    flash_sale_id INTEGER,
    active INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_items_buyer_product ON order_items (buyer_id, product_id) WHERE active = 1;
CREATE INDEX order_items_sale_buyer ON order_items (flash_sale_id, buyer_id)
    WHERE flash_sale_id IS NOT NULL AND active = 1;
CREATE INDEX order_items_product ON order_items (product_id);

CREATE TABLE cart_items (
    user_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    source_type TEXT NOT NULL DEFAULT 'direct',
    source_id INTEGER,
    added_at REAL NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

-- Saved address and payment method for one-tap buy. Only a provider's method name is
-- kept: never card data.
CREATE TABLE checkout_profiles (
    user_id INTEGER PRIMARY KEY,
    address_json TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    show_first_name INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);

CREATE TABLE flash_sales (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    created_by INTEGER NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    list_price_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    remaining INTEGER NOT NULL CHECK (remaining >= 0),
    per_buyer_limit INTEGER,
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    ended_early_at REAL
);
CREATE INDEX flash_sales_product_ends ON flash_sales (product_id, ends_at);
CREATE INDEX flash_sales_session_starts ON flash_sales (session_id, starts_at);

CREATE TABLE commission_rates (
    creator_id INTEGER PRIMARY KEY,
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    updated_by INTEGER,
    updated_at REAL NOT NULL
);

CREATE TABLE commerce_events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('card_view', 'card_click', 'add_to_cart')),
    viewer_key TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX commerce_events_session ON commerce_events (session_id, product_id, kind);

-- Webhook deliveries already applied, so a provider's retries change nothing twice.
CREATE TABLE payment_webhook_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    order_id TEXT,
    received_at REAL NOT NULL,
    PRIMARY KEY (provider, event_id)
);
