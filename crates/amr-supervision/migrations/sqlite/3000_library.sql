-- 一单两库 (SQLite): departments, inspection domains and items, inspectors, declared conflicts,
-- and the tags of the target library. Mirrors ../postgres/3000_library.sql.
-- Timestamps are UTC text; dates `YYYY-MM-DD` text.

CREATE TABLE insp_departments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Inspection domains (抽查领域), each of one department.
CREATE TABLE insp_domains (
    code TEXT PRIMARY KEY,
    department TEXT NOT NULL REFERENCES insp_departments (code),
    name TEXT NOT NULL
);
CREATE INDEX insp_domains_department ON insp_domains (department);

-- Inspection items (抽查事项). `list`: 'general' or 'key' (一般/重点检查事项清单);
-- `population`: the default tag expression of tasks of this item ('' = none).
CREATE TABLE insp_items (
    code TEXT PRIMARY KEY,
    department TEXT NOT NULL REFERENCES insp_departments (code),
    domain TEXT NOT NULL REFERENCES insp_domains (code),
    name TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    target_type TEXT NOT NULL,
    method TEXT NOT NULL,
    list TEXT NOT NULL CHECK (list IN ('general', 'key')),
    population TEXT NOT NULL,
    frequency TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE INDEX insp_items_department ON insp_items (department, domain);

-- Inspectors (执法检查人员). `jurisdiction`: a division-code prefix; `qualifications`: a JSON
-- array of domain codes.
CREATE TABLE insp_inspectors (
    id TEXT PRIMARY KEY,
    department TEXT NOT NULL REFERENCES insp_departments (code),
    name TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    qualifications TEXT NOT NULL,
    certificate_no TEXT NOT NULL,
    certificate_expiry TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE INDEX insp_inspectors_department ON insp_inspectors (department, jurisdiction);

-- Declared conflicts of interest (回避).
CREATE TABLE insp_conflicts (
    inspector_id TEXT NOT NULL REFERENCES insp_inspectors (id),
    uscc TEXT NOT NULL,
    reason TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    PRIMARY KEY (inspector_id, uscc)
);

-- Tags of the target library: `tag:<name>` (special tags) or `licence:<name>` (licences held).
-- `division` is the entity's, for the jurisdiction filter.
CREATE TABLE target_tags (
    uscc TEXT NOT NULL,
    tag TEXT NOT NULL,
    division TEXT NOT NULL,
    source TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (uscc, tag)
);
CREATE INDEX target_tags_division ON target_tags (division, uscc);
