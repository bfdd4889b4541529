-- Fulfilment and after-sale (issue 15): an order's shipment (one per order: carrier,
-- tracking number, when and by whom), the refunds given on it (amount, the provider's
-- refund id, whether its units went back to stock) and its refunded total, which a
-- conditional update keeps at or below what was paid.
ALTER TABLE orders ADD COLUMN carrier TEXT;
ALTER TABLE orders ADD COLUMN tracking_number TEXT;
ALTER TABLE orders ADD COLUMN shipped_at REAL;
ALTER TABLE orders ADD COLUMN shipped_by INTEGER;
ALTER TABLE orders ADD COLUMN refunded_minor INTEGER NOT NULL DEFAULT 0
    CHECK (refunded_minor >= 0);

CREATE TABLE order_refunds (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_refund_id TEXT,
    restocked INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT 'merchant',
    created_by INTEGER,
    created_at REAL NOT NULL
);
CREATE INDEX order_refunds_order ON order_refunds (order_id, created_at);

-- the host's orders page lists the orders holding a seller's items
CREATE INDEX order_items_seller ON order_items (seller_id, order_id);
