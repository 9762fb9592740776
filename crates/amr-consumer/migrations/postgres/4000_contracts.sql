-- Unfair standard-form clauses: "你提我点" reports (each is also a matter of kind
-- contract_report in the kernel's matter tables) and model contracts by industry.

CREATE TABLE contract_reports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    matter_number TEXT NOT NULL UNIQUE,
    division TEXT COLLATE "C" NOT NULL,
    business_name TEXT NOT NULL,
    uscc TEXT,
    clause TEXT NOT NULL,
    contract_text TEXT NOT NULL,
    -- JSON array of the rule ids the rules found in the clause and the text when filed
    findings TEXT NOT NULL,
    -- the reporter's contact (personal data: officers only, never on a public page)
    contact TEXT,
    confirmed_rule TEXT,
    confirmed_clause TEXT,
    confirmed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX contract_reports_division ON contract_reports (division);
CREATE INDEX contract_reports_confirmed ON contract_reports (confirmed_at);

CREATE TABLE contract_models (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    industry TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    -- the jurisdiction of the officers who maintain it
    division TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX contract_models_industry ON contract_models (industry, id);
