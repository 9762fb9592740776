-- Hong Kong investors' signing keys and filing signatures (PostgreSQL). Mirrors
-- ../sqlite/1040_signer_keys.sql; keep both in step. See src/identity/signature.rs.

-- A signer's Ed25519 key bound to an identity the credential registry verified. `kind` is
-- `held` (the platform keeps the secret, wrapped under the signer's PIN: held_secret =
-- secret XOR Argon2id(PIN, held_salt)) or `brought` (the signer keeps it; no secret here).
CREATE TABLE signer_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    hkid TEXT COLLATE "C" NOT NULL,
    permit TEXT NOT NULL,
    registry_ref TEXT NOT NULL,
    verifier TEXT NOT NULL,
    verified_at TIMESTAMPTZ NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('held', 'brought')),
    held_secret TEXT,
    held_salt TEXT,
    failed_unlocks BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    bound_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX signer_keys_hkid ON signer_keys (hkid, id);
-- One held key per identity at a time.
CREATE UNIQUE INDEX signer_keys_one_held ON signer_keys (hkid)
    WHERE kind = 'held' AND revoked_at IS NULL;

-- A signature over a filing's canonical SHA-256 (lower-case hex). The same key signing the
-- same hash of the same filing is stored once.
CREATE TABLE filing_signatures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    filing_ref TEXT COLLATE "C" NOT NULL,
    division TEXT COLLATE "C",
    filing_hash TEXT NOT NULL,
    key_id BIGINT NOT NULL REFERENCES signer_keys (id),
    signature TEXT NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL,
    -- The actor label of whoever submitted it (`account:12`, `api_key:3`).
    signed_by TEXT NOT NULL,
    UNIQUE (filing_ref, key_id, filing_hash)
);
CREATE INDEX filing_signatures_ref ON filing_signatures (filing_ref, id);
