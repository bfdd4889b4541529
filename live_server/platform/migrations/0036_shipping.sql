-- Shipping and tax (issue 15 part 3): each merchant's zones, rates and tax rates, kept as
-- the JSON the rules parse (commerce/shipping/parse.py); a merchant without a row ships
-- free everywhere and adds no tax. Products get a weight in grams for weight-priced zones.
CREATE TABLE shipping_settings (
    seller_id INTEGER PRIMARY KEY,
    settings_json TEXT NOT NULL,
    updated_at REAL NOT NULL
);
ALTER TABLE products ADD COLUMN weight_g INTEGER NOT NULL DEFAULT 0 CHECK (weight_g >= 0);
