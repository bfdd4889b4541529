-- The moderation log names what an action was about: the product a pin or unpin was for
-- (the log reads "pinned Blue mug", linked, not "pin · product 1"). Older entries kept
-- the id only in their detail text ("product 12"): it is read back from there.
ALTER TABLE moderation_log ADD COLUMN target_product_id INTEGER REFERENCES products(id);

UPDATE moderation_log
   SET target_product_id = CAST(substr(detail, 9) AS INTEGER)
 WHERE action IN ('pin', 'unpin')
   AND detail GLOB 'product [0-9]*';
