-- Reads that stay fast with a year of complaints (1.65 million rows):
-- the officers' queue walks the open complaints in deadline order and checks jurisdiction
-- and state inside the index, reading only the rows of the page; a business's publicity
-- figures are counted from the index alone (a busy business has tens of thousands of rows).
DROP INDEX complaints_open;
CREATE INDEX complaints_open ON complaints (due_on, id, division, state) WHERE closed_at IS NULL;
DROP INDEX complaints_uscc_month;
CREATE INDEX complaints_publicity ON complaints (uscc, kind, month, category, closed_at, outcome);
