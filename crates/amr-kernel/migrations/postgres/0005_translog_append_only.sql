-- The transparency log is append-only in the database too (PostgreSQL). Mirrors
-- ../sqlite/0005_translog_append_only.sql; keep both in step. A leaf, a stored subtree hash
-- or a signed checkpoint, once written, can be neither changed nor removed: a rewrite of
-- history has to go around the database, where the signed checkpoints others hold expose it.
CREATE FUNCTION translog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER translog_leaves_no_update BEFORE UPDATE OR DELETE ON translog_leaves
FOR EACH ROW EXECUTE FUNCTION translog_append_only();
CREATE TRIGGER translog_leaves_no_truncate BEFORE TRUNCATE ON translog_leaves
FOR EACH STATEMENT EXECUTE FUNCTION translog_append_only();
CREATE TRIGGER translog_nodes_no_update BEFORE UPDATE OR DELETE ON translog_nodes
FOR EACH ROW EXECUTE FUNCTION translog_append_only();
CREATE TRIGGER translog_nodes_no_truncate BEFORE TRUNCATE ON translog_nodes
FOR EACH STATEMENT EXECUTE FUNCTION translog_append_only();
CREATE TRIGGER translog_checkpoints_no_update BEFORE UPDATE OR DELETE ON translog_checkpoints
FOR EACH ROW EXECUTE FUNCTION translog_append_only();
CREATE TRIGGER translog_checkpoints_no_truncate BEFORE TRUNCATE ON translog_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION translog_append_only();
