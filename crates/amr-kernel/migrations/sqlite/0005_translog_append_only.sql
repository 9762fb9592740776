-- The transparency log is append-only in the database too (SQLite). Mirrors
-- ../postgres/0005_translog_append_only.sql; keep both in step. A leaf, a stored subtree hash
-- or a signed checkpoint, once written, can be neither changed nor removed: a rewrite of
-- history has to go around the database, where the signed checkpoints others hold expose it.
CREATE TRIGGER translog_leaves_no_update BEFORE UPDATE ON translog_leaves
BEGIN SELECT RAISE(ABORT, 'translog_leaves is append-only'); END;
CREATE TRIGGER translog_leaves_no_delete BEFORE DELETE ON translog_leaves
BEGIN SELECT RAISE(ABORT, 'translog_leaves is append-only'); END;
CREATE TRIGGER translog_nodes_no_update BEFORE UPDATE ON translog_nodes
BEGIN SELECT RAISE(ABORT, 'translog_nodes is append-only'); END;
CREATE TRIGGER translog_nodes_no_delete BEFORE DELETE ON translog_nodes
BEGIN SELECT RAISE(ABORT, 'translog_nodes is append-only'); END;
CREATE TRIGGER translog_checkpoints_no_update BEFORE UPDATE ON translog_checkpoints
BEGIN SELECT RAISE(ABORT, 'translog_checkpoints is append-only'); END;
CREATE TRIGGER translog_checkpoints_no_delete BEFORE DELETE ON translog_checkpoints
BEGIN SELECT RAISE(ABORT, 'translog_checkpoints is append-only'); END;
