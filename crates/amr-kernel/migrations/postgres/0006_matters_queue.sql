-- The officers' queues list one kind of matter newest first, a page at a time
-- (`kind = ? AND id < ? ORDER BY id DESC LIMIT n`). With only (kind, created_at, id) the
-- planner read every matter of the kind and sorted them for each page (1.65 million
-- complaints a year); (kind, id) serves the page straight from the index.
CREATE INDEX matters_kind_id ON matters (kind, id);
-- The queue's "escalated" filter: escalated matters are few, so only they are indexed, and a
-- page of them does not walk past every other matter of the kind.
CREATE INDEX matters_escalated ON matters (kind, id) WHERE escalated_to IS NOT NULL;
