-- Advance compensation (先行赔付): the pledges of markets and platforms, the payments they make
-- to consumers on complaints (each also a message on the complaint matter's timeline) and the
-- recoveries from the sellers.

CREATE TABLE compensation_pledges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    division TEXT NOT NULL,
    -- market | platform
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    -- the most paid on one complaint, in fen
    limit_fen INTEGER NOT NULL,
    valid_from TEXT NOT NULL,
    -- active | withdrawn
    status TEXT NOT NULL,
    withdrawn_on TEXT,
    recorded_via TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX compensation_pledges_active ON compensation_pledges (uscc) WHERE status = 'active';
CREATE INDEX compensation_pledges_division ON compensation_pledges (division, id);

CREATE TABLE compensation_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_number TEXT NOT NULL UNIQUE,
    pledge_id INTEGER NOT NULL REFERENCES compensation_pledges (id),
    payer_uscc TEXT NOT NULL,
    -- the complaint's jurisdiction
    division TEXT NOT NULL,
    seller_name TEXT NOT NULL,
    seller_uscc TEXT,
    amount_fen INTEGER NOT NULL,
    paid_on TEXT NOT NULL,
    recovered_fen INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX compensation_payments_payer ON compensation_payments (payer_uscc, id);
CREATE INDEX compensation_payments_division ON compensation_payments (division, id);

CREATE TABLE compensation_recoveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id INTEGER NOT NULL REFERENCES compensation_payments (id),
    amount_fen INTEGER NOT NULL,
    recovered_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX compensation_recoveries_payment ON compensation_recoveries (payment_id, id);
