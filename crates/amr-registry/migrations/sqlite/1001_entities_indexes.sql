-- The single-column indexes on status and type are dropped: most entities share a handful of
-- values, so a filter on either is served better by the jurisdiction range on
-- entities_division, and each index cost every bulk load a random insert per row.
DROP INDEX entities_status;
DROP INDEX entities_type;
