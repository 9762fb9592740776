-- Advance compensation (先行赔付): the pledges of markets and platforms, the payments they make
-- to consumers on complaints (each also a message on the complaint matter's timeline) and the
-- recoveries from the sellers.

CREATE TABLE compensation_pledges (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    -- market | platform
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    -- the most paid on one complaint, in fen
    limit_fen BIGINT NOT NULL,
    valid_from DATE NOT NULL,
    -- active | withdrawn
    status TEXT NOT NULL,
    withdrawn_on DATE,
    recorded_via TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX compensation_pledges_active ON compensation_pledges (uscc) WHERE status = 'active';
CREATE INDEX compensation_pledges_division ON compensation_pledges (division, id);

CREATE TABLE compensation_payments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_number TEXT NOT NULL UNIQUE,
    pledge_id BIGINT NOT NULL REFERENCES compensation_pledges (id),
    payer_uscc TEXT NOT NULL,
    -- the complaint's jurisdiction
    division TEXT COLLATE "C" NOT NULL,
    seller_name TEXT NOT NULL,
    seller_uscc TEXT,
    amount_fen BIGINT NOT NULL,
    paid_on DATE NOT NULL,
    recovered_fen BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX compensation_payments_payer ON compensation_payments (payer_uscc, id);
CREATE INDEX compensation_payments_division ON compensation_payments (division, id);

CREATE TABLE compensation_recoveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id BIGINT NOT NULL REFERENCES compensation_payments (id),
    amount_fen BIGINT NOT NULL,
    recovered_on DATE NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX compensation_recoveries_payment ON compensation_recoveries (payment_id, id);
