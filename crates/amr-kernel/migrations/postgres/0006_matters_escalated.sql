-- The officers' queue filter "escalated" (matters whose clock ran out and went up a level):
-- the list walks matters newest first (id DESC), and escalated ones are few, so without an
-- index the walk reads every non-escalated matter on the way. Only escalated rows are indexed.
CREATE INDEX matters_escalated ON matters (id) WHERE escalated_to IS NOT NULL;
