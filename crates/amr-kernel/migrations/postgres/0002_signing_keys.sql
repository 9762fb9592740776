-- Signing keys (PostgreSQL). Mirrors ../sqlite/0002_signing_keys.sql; keep both in step.
-- The public halves of the deployment's Ed25519 keys, current and retired: every key ever used
-- stays here so that what it signed still verifies. The secret half never enters the
-- database: it lives in the key file (see amr_kernel::signing).
CREATE TABLE signing_keys (
    key_id TEXT COLLATE "C" PRIMARY KEY,
    algorithm TEXT NOT NULL CHECK (algorithm = 'ed25519'),
    public_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);
