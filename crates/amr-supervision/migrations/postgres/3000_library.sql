-- 一单两库 (PostgreSQL): departments, inspection domains and items, inspectors, declared
-- conflicts, and the tags of the target library. Mirrors ../sqlite/3000_library.sql.

CREATE TABLE insp_departments (
    code TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE insp_domains (
    code TEXT COLLATE "C" PRIMARY KEY,
    department TEXT COLLATE "C" NOT NULL REFERENCES insp_departments (code),
    name TEXT NOT NULL
);
CREATE INDEX insp_domains_department ON insp_domains (department);

CREATE TABLE insp_items (
    code TEXT COLLATE "C" PRIMARY KEY,
    department TEXT COLLATE "C" NOT NULL REFERENCES insp_departments (code),
    domain TEXT COLLATE "C" NOT NULL REFERENCES insp_domains (code),
    name TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    target_type TEXT NOT NULL,
    method TEXT NOT NULL,
    list TEXT NOT NULL CHECK (list IN ('general', 'key')),
    population TEXT NOT NULL,
    frequency TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX insp_items_department ON insp_items (department, domain);

CREATE TABLE insp_inspectors (
    id TEXT COLLATE "C" PRIMARY KEY,
    department TEXT COLLATE "C" NOT NULL REFERENCES insp_departments (code),
    name TEXT NOT NULL,
    jurisdiction TEXT COLLATE "C" NOT NULL,
    qualifications TEXT NOT NULL,
    certificate_no TEXT NOT NULL,
    certificate_expiry DATE NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX insp_inspectors_department ON insp_inspectors (department, jurisdiction);

CREATE TABLE insp_conflicts (
    inspector_id TEXT COLLATE "C" NOT NULL REFERENCES insp_inspectors (id),
    uscc TEXT COLLATE "C" NOT NULL,
    reason TEXT NOT NULL,
    declared_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (inspector_id, uscc)
);

CREATE TABLE target_tags (
    uscc TEXT COLLATE "C" NOT NULL,
    tag TEXT NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    source TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (uscc, tag)
);
CREATE INDEX target_tags_division ON target_tags (division, uscc);
