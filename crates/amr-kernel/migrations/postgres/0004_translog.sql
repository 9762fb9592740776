-- The transparency log (PostgreSQL). Mirrors ../sqlite/0004_translog.sql; keep both in step.
-- See amr_kernel::translog. Rows are only ever inserted.

-- One row a leaf: the entry (canonical JSON of a public event), its RFC 6962 leaf hash
-- SHA-256(0x00 || entry) and the timepoint of the event it came from.
CREATE TABLE translog_leaves (
    idx BIGINT PRIMARY KEY,
    leaf_hash BYTEA NOT NULL,
    entry TEXT NOT NULL,
    timepoint BIGINT NOT NULL UNIQUE,
    appended_at TIMESTAMPTZ NOT NULL
);

-- The hash of every complete aligned subtree of 16 leaves or more, keyed by
-- level << 40 | index (leaves [index * 2^level, (index + 1) * 2^level)).
CREATE TABLE translog_nodes (
    id BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

-- Every signed checkpoint (a C2SP signed note), by tree size.
CREATE TABLE translog_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root_hash BYTEA NOT NULL,
    note TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
