-- Offline no-reason returns (线下无理由退货): a shop's public pledge, the goods categories it
-- covers (one row each, for the search by category), and the breaches officers record from
-- complaints.

CREATE TABLE return_pledges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    shop_name TEXT NOT NULL,
    -- the shop's division (its registered domicile): the jurisdiction of the officers
    division TEXT NOT NULL,
    -- the categories, joined with "、" for display
    categories TEXT NOT NULL,
    days INTEGER NOT NULL,
    exclusions TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    -- active | withdrawn
    status TEXT NOT NULL,
    withdrawn_on TEXT,
    withdraw_reason TEXT,
    -- enterprise | officer (pledged in the portal, or recorded at the window)
    recorded_via TEXT NOT NULL,
    breaches INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- one pledge in force per shop
CREATE UNIQUE INDEX return_pledges_active ON return_pledges (uscc) WHERE status = 'active';
CREATE INDEX return_pledges_division ON return_pledges (division, id);
CREATE INDEX return_pledges_uscc ON return_pledges (uscc, id);

CREATE TABLE return_pledge_categories (
    pledge_id INTEGER NOT NULL REFERENCES return_pledges (id),
    category TEXT NOT NULL,
    division TEXT NOT NULL,
    PRIMARY KEY (pledge_id, category)
);
CREATE INDEX return_pledge_categories_search ON return_pledge_categories (category, division, pledge_id);

CREATE TABLE return_pledge_breaches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pledge_id INTEGER NOT NULL REFERENCES return_pledges (id),
    complaint_number TEXT NOT NULL,
    summary TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    division TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (pledge_id, complaint_number)
);
