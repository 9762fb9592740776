-- Library imports made from the office pages (SQLite). Mirrors ../postgres/2001_address_imports.sql.
-- One row per import: what was imported into which city, by whom, and the report shown on
-- the result page (JSON: row counts, the rows taken and the rows refused with their reason).
CREATE TABLE address_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    city TEXT NOT NULL,
    source TEXT NOT NULL,
    report TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX address_imports_city ON address_imports (city, id);
