-- What an order was charged (issue 15 part 3), exactly, in minor units: the goods
-- (subtotal, before a coupon's discount), shipping and tax; tax_included says whether the
-- tax is inside the prices (EU style) or was added (US style); charges_json keeps the
-- rates used per merchant (zone, rate kind, tax rate, weight). total_minor stays what is
-- charged: subtotal - discount + shipping (+ tax when added). Orders placed before this
-- have subtotal = total + discount and no shipping or tax.
ALTER TABLE orders ADD COLUMN subtotal_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN shipping_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN tax_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN tax_included INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN charges_json TEXT;
UPDATE orders SET subtotal_minor = total_minor + discount_minor;
