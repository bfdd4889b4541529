-- Card payments through Stripe (issue 15): one Stripe Customer per buyer and the card they
-- saved (never the card number: Stripe keeps it; we keep its id, brand, last four digits and
-- expiry so the checkout sheet can say "Visa ending 4242"). A buyer without a row has no
-- card on file.
CREATE TABLE stripe_customers (
    user_id INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL UNIQUE,
    payment_method_id TEXT,
    brand TEXT,
    last4 TEXT,
    exp_month INTEGER,
    exp_year INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
