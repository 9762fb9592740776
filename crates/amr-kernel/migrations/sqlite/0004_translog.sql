-- The transparency log (SQLite). Mirrors ../postgres/0004_translog.sql; keep both in step.
-- See amr_kernel::translog. Rows are only ever inserted.

-- One row a leaf: the entry (canonical JSON of a public event), its RFC 6962 leaf hash
-- SHA-256(0x00 || entry) and the timepoint of the event it came from.
CREATE TABLE translog_leaves (
    idx INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    entry TEXT NOT NULL,
    timepoint INTEGER NOT NULL UNIQUE,
    appended_at TEXT NOT NULL
);

-- The hash of every complete aligned subtree of 16 leaves or more, keyed by
-- level << 40 | index (leaves [index * 2^level, (index + 1) * 2^level)).
CREATE TABLE translog_nodes (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

-- Every signed checkpoint (a C2SP signed note), by tree size.
CREATE TABLE translog_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
