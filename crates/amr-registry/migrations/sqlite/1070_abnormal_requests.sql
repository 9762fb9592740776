-- The abnormal list's unfinished parts (SQLite). Mirrors ../postgres/1070_abnormal_requests.sql;
-- keep both in step. See docs/ANNUAL-REPORTS.md.

-- How a report reached the register: `online` (the enterprise's account) or `paper` (entered
-- by an officer from a paper form; `filed_by` names the officer). A correction sets it anew.
ALTER TABLE annual_reports ADD COLUMN channel TEXT NOT NULL DEFAULT 'online';

-- A no-report listing decided after its 10-working-day window (the server was down for the
-- whole window): why it was decided late. NULL for a listing decided in time.
ALTER TABLE abnormal_listings ADD COLUMN late_reason TEXT;

-- The enterprise's online request for removal (移出申请) of a listing in force. state: open |
-- approved | refused. One open request per listing (partial unique index). `new_address` and
-- `new_phone` are the contact facts the enterprise gives (optional). On approval the removal's
-- decision number is copied here; on refusal `decision_note` is the reason told to it.
CREATE TABLE abnormal_removal_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    listing_id INTEGER NOT NULL REFERENCES abnormal_listings (id),
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    ground TEXT NOT NULL,
    statement TEXT NOT NULL,
    new_address TEXT,
    new_phone TEXT,
    state TEXT NOT NULL,
    filed_on TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    decided_on TEXT,
    decided_by TEXT,
    decision_note TEXT,
    removal_decision_no TEXT
);
CREATE UNIQUE INDEX abnormal_removal_requests_open ON abnormal_removal_requests (listing_id)
    WHERE state = 'open';
CREATE INDEX abnormal_removal_requests_queue ON abnormal_removal_requests (state, division, id);
CREATE INDEX abnormal_removal_requests_uscc ON abnormal_removal_requests (uscc, id);
