-- The lifecycle service guide (全生命周期服务指南) (SQLite). Mirrors ../postgres/1031_guide.sql.

-- One service item. `item_key` is the stable key other pages ask for (`entry.establishment`);
-- `stage` is entry | permit | operation | exit; `division` is the area the item applies in
-- (a division-code prefix: `37` the province) and bounds who may maintain it;
-- `time_limit_days` counts working days (NULL: no fixed limit, 0: on the spot).
CREATE TABLE guide_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    department TEXT NOT NULL,
    division TEXT NOT NULL,
    conditions TEXT NOT NULL,
    materials TEXT NOT NULL,
    time_limit_days INTEGER,
    legal_basis TEXT NOT NULL,
    online_url TEXT,
    keywords TEXT NOT NULL,
    status TEXT NOT NULL,
    retired_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX guide_items_stage ON guide_items (status, stage, item_key);
