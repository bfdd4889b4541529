-- Product variants (issue 15): a variant is a row of `products` with a parent. Stock, price,
-- flash sales, auctions, carts, orders and analytics all key on a product id, so a variant
-- is sold exactly like a product; its parent is the listing people see (title, photos,
-- description) and is not bought itself once it has variants.
ALTER TABLE products ADD COLUMN parent_id INTEGER REFERENCES products (id);
-- On a variant: its option values as a JSON array of [name, value] pairs, in the parent's
-- option order (e.g. [["Size", "M"], ["Colour", "Black"]]).
ALTER TABLE products ADD COLUMN option_values TEXT;
ALTER TABLE products ADD COLUMN sku TEXT;
CREATE INDEX products_parent ON products (parent_id)
    WHERE parent_id IS NOT NULL AND deleted_at IS NULL;
-- one live variant per combination of values
CREATE UNIQUE INDEX products_variant_values ON products (parent_id, option_values)
    WHERE parent_id IS NOT NULL AND deleted_at IS NULL;
