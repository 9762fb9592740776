-- Change registration (变更登记, PostgreSQL). Mirrors ../sqlite/1050_change_applications.sql;
-- keep both in step.

-- The application a history row came from (NULL for changes made otherwise).
ALTER TABLE entity_changes ADD COLUMN application_id BIGINT;

-- One row per change application: filed → returned → filed (refiled) ... → approved.
-- `division` is the entity's division when filed (the examining jurisdiction); `requested`
-- the JSON of the requested values (only the fields that change); `reasons` the officer's
-- reasons of the last return; `timepoint` the approved change's `registry.entity.changed`
-- event.
CREATE TABLE change_applications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc TEXT COLLATE "C" NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    requested TEXT NOT NULL,
    reason TEXT NOT NULL,
    address_outcome TEXT,
    commitment_id BIGINT,
    round INTEGER NOT NULL,
    reasons TEXT,
    filed_at TIMESTAMPTZ NOT NULL,
    filed_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ,
    decided_by TEXT,
    timepoint BIGINT
);
-- At most one open (filed or returned) application per entity.
CREATE UNIQUE INDEX change_applications_open ON change_applications (uscc)
    WHERE status IN ('filed', 'returned');
CREATE INDEX change_applications_uscc ON change_applications (uscc, id);
CREATE INDEX change_applications_queue ON change_applications (status, division, id);
