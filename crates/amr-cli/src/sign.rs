//! `amr sign`: a Hong Kong investor's own signing key, used offline (no database, no
//! network): make a key, prove it for binding, sign a filing's hash.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use amr_kernel::error::AppError;
use amr_registry::identity::signature::KeyFile;
use amr_registry::identity::{HkId, TravelPermit};

#[derive(Debug, Subcommand)]
pub enum SignCommand {
    /// Make a new Ed25519 key; the secret goes to FILE (created, never overwritten, readable
    /// by you alone), the public key is printed.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The proof that binds the key to your identity: prints the JSON body for
    /// `POST /api/v1/signers/keys` (add your name).
    Binding {
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Hong Kong identity card number, e.g. A123456(3).
        #[arg(long)]
        hkid: String,
        /// Mainland travel permit number, e.g. H12345678.
        #[arg(long)]
        permit: String,
    },
    /// Sign a filing's canonical SHA-256 (64 hex digits): prints the signature in hex.
    FilingHash {
        hash: String,
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

fn read_key(path: &Path) -> Result<KeyFile, AppError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        AppError::bad_request(
            "key",
            format!(
                "无法读取密钥文件 {} (cannot read the key file): {e}",
                path.display()
            ),
        )
    })?;
    KeyFile::parse(&text)
}

pub fn run(c: SignCommand) -> Result<ExitCode, AppError> {
    match c {
        SignCommand::Keygen { out } => {
            let key = KeyFile::generate();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&out).map_err(|e| {
                AppError::bad_request(
                    "out",
                    format!(
                        "无法创建密钥文件 {}（已存在的文件不会被覆盖） (cannot create the key file; \
                         an existing file is never overwritten): {e}",
                        out.display()
                    ),
                )
            })?;
            writeln!(f, "{}", key.secret_hex()).map_err(|e| AppError::Internal(e.into()))?;
            println!("{}", key.public_key_hex());
            Ok(ExitCode::SUCCESS)
        }
        SignCommand::Binding { key, hkid, permit } => {
            let key = read_key(&key)?;
            let hkid = HkId::parse(&hkid).map_err(|e| AppError::bad_request("hkid", e))?;
            let permit =
                TravelPermit::parse(&permit).map_err(|e| AppError::bad_request("permit", e))?;
            let body = serde_json::json!({
                "signer": {"name": "", "hkid": hkid.display(), "permit": permit.as_str()},
                "public_key": key.public_key_hex(),
                "proof": key.binding_proof(&hkid, &permit),
            });
            println!("{body}");
            Ok(ExitCode::SUCCESS)
        }
        SignCommand::FilingHash { hash, key } => {
            let key = read_key(&key)?;
            println!("{}", key.sign_filing_hash(&hash)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
