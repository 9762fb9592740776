-- Library imports made from the office pages (PostgreSQL). Mirrors ../sqlite/2001_address_imports.sql.
-- One row per import: what was imported into which city, by whom, and the report shown on
-- the result page (JSON: row counts, the rows taken and the rows refused with their reason).
CREATE TABLE address_imports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    city TEXT COLLATE "C" NOT NULL,
    source TEXT NOT NULL,
    report TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX address_imports_city ON address_imports (city, id);
