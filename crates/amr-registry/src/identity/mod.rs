//! Hong Kong investor e-registration: identity, verification, electronic signatures.
//!
//! Hong Kong natural-person investors and representatives identify with an HK identity card
//! number and a Mainland travel permit; the identity is verified against a credential
//! registry; each filing is signed with a key bound to the verified identity.
//!
//! - [`hkid`]: [`HkId::parse`] — 1–2 letters, 6 digits, check character (weighted mod 11),
//!   typed forms normalized.
//! - [`permit`]: [`TravelPermit::parse`] — `H`/`M` + 8 digits (card, 2013–) or + 10 digits
//!   (older form); the sources of the formats are in its docs.
//! - [`verifier`]: the [`IdentityVerifier`] trait and its implementations ([`HttpVerifier`],
//!   [`LocalVerifier`]); [`verifier::from_config`] builds the configured one.
//! - [`signature`]: key binding (held and brought keys), [`sign_filing`],
//!   [`record_signature`], [`signatures_for`]; the scheme is written down there.
//! - [`web`]: `POST /api/v1/signers/verify`, `POST /api/v1/signers/keys`,
//!   `POST /api/v1/signatures`, `GET /api/v1/signatures`; the signer's page `/sign` and the
//!   officer's page `/office/signatures`; the template fragment `registry/signatures.html`.
//!
//! # The interface the registration code calls
//!
//! ```ignore
//! use amr_registry::identity::{self, FilingToSign, IdentityClaim};
//!
//! // An investor on the filing: parse at the edge (400 naming `name`, `hkid` or `permit`),
//! // then verify (422 not found / mismatch, 503 unavailable).
//! let claim = IdentityClaim::parse(&name, &hkid, &permit)?;
//! let who = verifier.verify(&claim).await?;            // VerifiedIdentity, keep registry_ref
//!
//! // The signer signs the filing's canonical hash (browser path: the held key and PIN).
//! let filing = FilingToSign { reference: number, hash: filing_hash, division: Some(county) };
//! identity::sign_filing(&db, &actor, &who, &pin, &filing).await?;
//!
//! // The officer's filing view: who signed, and whether each signature still verifies
//! // against the filing's *current* hash.
//! let sigs = identity::signatures_for(&db, &scope, &number, Some(&current_hash)).await?;
//! // ... and in its template: {% set signatures = sigs %}{% include "registry/signatures.html" %}
//! ```
//!
//! `POST /api/v1/signatures` and `/sign` record signatures for a filing reference and a hash
//! as given, except for a registration filing number (`DJ…`, see
//! [`crate::registration::store::is_filing_no`]): that filing must exist (404) and the hash
//! must be its current `filing_hash` (422), and the signature takes the filing's division.
//! A filing refiled after signing shows the mismatch through [`signatures_for`].
//!
//! Tables: `signer_keys`, `filing_signatures` (migration 1040). Events (internal):
//! `registry.signer.key_bound`, `registry.filing.signed`. Audit actions: `signer.key.bind`,
//! `signer.key.wrong_pin`, `filing.sign`.

pub mod hkid;
pub mod permit;
pub mod signature;
pub mod verifier;
pub mod web;

pub use hkid::{HkId, HkIdError};
pub use permit::{PermitError, PermitRegion, TravelPermit};
pub use signature::{
    FilingSignature, FilingToSign, SignatureView, SignerKey, bind_brought_key, record_signature,
    sign_filing, signatures_for,
};
pub use verifier::{
    HttpVerifier, IdentityClaim, IdentityVerifier, LocalVerifier, VerifiedIdentity, VerifyError,
};
