//! Evidence and messages on a complaint matter: the complainant's attachments (on filing and
//! later), the messages between the complainant, the bureau and — while the matter is with it
//! in ODR — the business; all through the kernel matter engine (`attach`, `add_message`:
//! timeline entries, event, audit in one transaction).
//!
//! Attachments: photos (JPEG, PNG, WebP) and PDF, the type read from the file's first bytes
//! (the name and the declared type are not trusted); at most [`MAX_FILE_BYTES`] a file and
//! [`MAX_FILES`] files a matter; stored in the database by the engine with their SHA-256.
//! Served only to the complainant (number + phone, by POST) and to officers whose
//! jurisdiction holds the matter.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::matter::{Acting, Attachment, NewAttachment, TimelineEntry};

use super::flow::{canonical, own};
use super::{engine, followup, model, store};

/// The largest attachment (the server's request body limit, 2 MiB by default, bounds one
/// upload as a whole).
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
/// The most attachments a matter takes from the complainant.
pub const MAX_FILES: usize = 6;

/// The acting identity of the complainant (number + phone checked by the caller): the
/// system, recorded as `complainant`, with the client's address.
pub fn complainant(ip: Option<String>) -> Acting {
    let mut a = Acting::system();
    a.actor.name = "complainant".into();
    a.actor.ip = ip;
    a
}

/// The type of a file from its first bytes: JPEG, PNG, WebP or PDF, else `None`.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

fn too_large() -> AppError {
    AppError::bad_request(
        "files",
        format!(
            "每个附件不超过 {} MB (an attachment is at most {} MB)",
            MAX_FILE_BYTES / (1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
}

fn too_many() -> AppError {
    AppError::bad_request(
        "files",
        format!("每件最多 {MAX_FILES} 个附件 (at most {MAX_FILES} attachments a matter)"),
    )
}

/// A file checked: a name (path parts dropped), a known type by content, the size limit.
pub fn check_file(name: &str, bytes: Vec<u8>) -> Result<NewAttachment, AppError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let ct = sniff(&bytes).ok_or_else(|| {
        AppError::bad_request(
            "files",
            "附件只能是照片（JPEG、PNG、WebP）或 PDF 文件 (attachments are photos — JPEG, PNG, WebP — or PDF files)",
        )
    })?;
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(100).collect();
    let clean = if clean.is_empty() {
        format!("evidence.{}", ct.rsplit('/').next().unwrap_or("bin"))
    } else {
        clean
    };
    Ok(NewAttachment {
        name: clean,
        content_type: ct.to_string(),
        bytes,
    })
}

/// An attachment in a JSON filing (`POST /api/v1/complaints`, `"attachments": [...]`): the
/// file's name, its declared content type and its bytes in standard base64 (RFC 4648 §4,
/// padded; line breaks and spaces are not allowed).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct JsonAttachment {
    pub name: String,
    pub content_type: String,
    pub data: String,
}

/// The JSON filing's attachments decoded and checked as the form's are ([`check_file`]: a
/// known type read from the bytes, [`MAX_FILE_BYTES`], at most [`MAX_FILES`]); besides, a
/// declared type must be the one the bytes show. Each refusal names the attachment
/// (`attachments[0]`), Chinese first.
pub fn decode_json(list: &[JsonAttachment]) -> Result<Vec<NewAttachment>, AppError> {
    use base64::Engine as _;
    if list.len() > MAX_FILES {
        return Err(AppError::bad_request(
            "attachments",
            format!("每件最多 {MAX_FILES} 个附件 (at most {MAX_FILES} attachments a matter)"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, a) in list.iter().enumerate() {
        let field = format!("attachments[{i}]");
        let named = |e: AppError| match e {
            AppError::BadRequest { message, .. } => AppError::bad_request(&field, message),
            other => other,
        };
        // The encoded length first: 4 characters a 3 bytes, so nothing larger is decoded.
        if a.data.len() > MAX_FILE_BYTES.div_ceil(3) * 4 {
            return Err(named(too_large()));
        }
        if a.data.is_empty() {
            return Err(AppError::bad_request(
                &field,
                "附件内容为空，应为 base64 编码的文件 (the attachment's data is empty: the file in base64)",
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(a.data.as_bytes())
            .map_err(|e| {
                AppError::bad_request(
                    &field,
                    format!("附件内容不是有效的 base64 编码 (the attachment's data is not valid base64): {e}"),
                )
            })?;
        let file = check_file(&a.name, bytes).map_err(named)?;
        let declared = a.content_type.trim().to_ascii_lowercase();
        let declared = match declared.as_str() {
            "image/jpg" | "image/pjpeg" => "image/jpeg",
            d => d,
        };
        if !declared.is_empty() && declared != file.content_type {
            return Err(AppError::bad_request(
                &field,
                format!(
                    "附件声明的类型 {declared} 与文件内容（{}）不符 (the declared type {declared} is not what the file holds, {})",
                    file.content_type, file.content_type
                ),
            ));
        }
        out.push(file);
    }
    Ok(out)
}

/// A form that may come as multipart with files (`files` parts) or URL-encoded without.
/// A file that breaks a rule is kept as `file_error` (the form is still read, so the page
/// can show it again with the reason).
#[derive(Debug)]
pub struct FormWithFiles<T> {
    pub form: T,
    pub files: Vec<NewAttachment>,
    pub file_error: Option<AppError>,
}

fn unreadable(detail: impl std::fmt::Display) -> AppError {
    AppError::bad_request(
        "form",
        format!("表单内容无法识别 (the form could not be read): {detail}"),
    )
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormWithFiles<T> {
    type Rejection = amr_web::page::PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !multipart {
            let amr_web::extract::PageForm(form) =
                amr_web::extract::PageForm::<T>::from_request(req, state).await?;
            return Ok(FormWithFiles {
                form,
                files: Vec::new(),
                file_error: None,
            });
        }
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| unreadable(e.body_text()))?;
        let mut fields: HashMap<String, String> = HashMap::new();
        let mut files = Vec::new();
        let mut file_error = None;
        loop {
            let mut field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(too_large().into());
                }
                Err(e) => return Err(unreadable(e.body_text()).into()),
            };
            let name = field.name().unwrap_or("").to_string();
            let is_file = name == "files";
            let file_name = field.file_name().unwrap_or("").to_string();
            let cap = if is_file { MAX_FILE_BYTES } else { 20_000 };
            let mut value: Vec<u8> = Vec::new();
            let mut over = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if value.len() + chunk.len() > cap {
                            over = true;
                        } else if !over {
                            value.extend_from_slice(&chunk);
                        }
                    }
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        return Err(too_large().into());
                    }
                    Err(e) => return Err(unreadable(e.body_text()).into()),
                }
            }
            if is_file {
                if file_name.is_empty() && value.is_empty() {
                    continue; // no file chosen
                }
                if file_error.is_some() {
                    continue;
                }
                if over {
                    file_error = Some(too_large());
                } else if files.len() >= MAX_FILES {
                    file_error = Some(too_many());
                } else {
                    match check_file(&file_name, value) {
                        Ok(f) => files.push(f),
                        Err(e) => file_error = Some(e),
                    }
                }
            } else {
                if over || fields.len() >= 64 {
                    return Err(unreadable(format!("{name} too long")).into());
                }
                fields.insert(name, String::from_utf8_lossy(&value).into_owned());
            }
        }
        let map: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let form = serde_json::from_value(Value::Object(map)).map_err(unreadable)?;
        Ok(FormWithFiles {
            form,
            files,
            file_error,
        })
    }
}

/// The complainant adds evidence to their matter (number + phone). At most [`MAX_FILES`]
/// on the matter in all; one transaction.
pub async fn attach_by_complainant(
    db: &Db,
    ip: Option<String>,
    number: &str,
    phone: &str,
    files: &[NewAttachment],
) -> Result<Vec<Attachment>, AppError> {
    let row = own(db, number, phone).await?;
    if files.is_empty() {
        return Err(AppError::bad_request(
            "files",
            "请选择要上传的文件 (choose the files to upload)",
        ));
    }
    let acting = complainant(ip);
    let have = engine()
        .attachments(db, &acting, &row.matter_number)
        .await?
        .len();
    if have + files.len() > MAX_FILES {
        return Err(too_many());
    }
    let mut tx = db.begin().await?;
    let mut out = Vec::new();
    for f in files {
        out.push(
            engine()
                .attach(&mut tx, &acting, &row.matter_number, f)
                .await?,
        );
    }
    tx.commit().await?;
    Ok(out)
}

/// The complainant writes to the bureau (and the business while it handles the matter).
pub async fn message_by_complainant(
    db: &Db,
    ip: Option<String>,
    number: &str,
    phone: &str,
    text: &str,
) -> Result<(), AppError> {
    let row = own(db, number, phone).await?;
    let text = model::text("text", text, 1, 2000, "留言", false)?;
    let acting = complainant(ip);
    let mut tx = db.begin().await?;
    engine()
        .add_message(&mut tx, &acting, &row.matter_number, &text, false)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// An officer writes on a matter of the jurisdiction: a message the complainant (and the
/// business) see, told by a notice; or an internal note (`internal`), officers only.
pub async fn message_by_officer(
    db: &Db,
    acting: &Acting,
    number: &str,
    text: &str,
    internal: bool,
) -> Result<(), AppError> {
    let number = canonical(number).map_err(|_| AppError::NotFound)?;
    let row = store::get_scoped(db, &acting.scope, &number).await?;
    let text = model::text("text", text, 1, 2000, "留言", false)?;
    let mut tx = db.begin().await?;
    engine()
        .add_message(&mut tx, acting, &row.matter_number, &text, internal)
        .await?;
    if !internal {
        followup::notify(
            &mut tx,
            &row.matter_number,
            "message",
            &format!(
                "市场监管部门就{}给您留言，请在查询页查看",
                row.matter_number
            ),
            &format!(
                "The bureau wrote to you about {}: see the tracking page",
                row.matter_number
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The business writes to the complainant while the matter is with it in ODR (or settled
/// by it).
pub async fn message_by_business(
    db: &Db,
    acting: &Acting,
    number: &str,
    text: &str,
) -> Result<(), AppError> {
    let number = canonical(number).map_err(|_| AppError::NotFound)?;
    let row = store::get(db, &number).await?.ok_or(AppError::NotFound)?;
    if row.kind != "complaint" || acting.uscc.is_none() || row.uscc != acting.uscc {
        return Err(AppError::NotFound);
    }
    if !matches!(row.state.as_str(), "odr" | "odr_settled") {
        return Err(AppError::rejected(
            "只有在线纠纷解决中的投诉可以留言 (messages only while the complaint is with the business in ODR)",
        ));
    }
    let text = model::text("text", text, 1, 2000, "留言", false)?;
    let mut tx = db.begin().await?;
    engine()
        .add_message(&mut tx, acting, &row.matter_number, &text, false)
        .await?;
    followup::notify(
        &mut tx,
        &row.matter_number,
        "message",
        &format!("经营者就{}给您留言，请在查询页查看", row.matter_number),
        &format!(
            "The business wrote to you about {}: see the tracking page",
            row.matter_number
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Who wrote a message, as the parties see it: the consumer, the business, the bureau
/// (never an officer's name). `business_accounts` are the account labels of enterprise
/// accounts among the writers.
fn writer(e: &TimelineEntry, business_accounts: &[String]) -> Value {
    if e.actor == "complainant" {
        json!({"code": "consumer", "zh": "消费者", "en": "the consumer"})
    } else if business_accounts.contains(&e.actor) {
        json!({"code": "business", "zh": "经营者", "en": "the business"})
    } else {
        json!({"code": "bureau", "zh": "市场监管部门", "en": "the bureau"})
    }
}

/// The messages of a timeline (internal notes only if `with_notes`), oldest first.
pub async fn messages(
    db: &Db,
    timeline: &[TimelineEntry],
    with_notes: bool,
) -> Result<Vec<Value>, AppError> {
    let mut business = Vec::new();
    for e in timeline.iter().filter(|e| e.entry == "message") {
        if let Some(id) = e
            .actor
            .strip_prefix("account:")
            .and_then(|s| s.parse::<i64>().ok())
            && !business.contains(&e.actor)
            && let Ok(a) = amr_kernel::auth::store::get_account(db, &Scope::all(), id).await
            && a.role() == amr_kernel::auth::Role::Enterprise
        {
            business.push(e.actor.clone());
        }
    }
    Ok(timeline
        .iter()
        .filter(|e| e.entry == "message" && (with_notes || !e.internal))
        .map(|e| {
            json!({
                "at": e.at, "by": writer(e, &business), "internal": e.internal,
                "text": e.body.get("text").cloned().unwrap_or(Value::Null),
            })
        })
        .collect())
}

/// The attachments as listed to the complainant and officers.
pub fn attachments_json(list: &[Attachment]) -> Vec<Value> {
    list.iter()
        .map(|a| {
            json!({
                "id": a.id, "name": a.name, "content_type": a.content_type, "size": a.size,
                "sha256": a.sha256, "added_at": a.added_at,
                "by": if a.added_by == "complainant" { "consumer" } else { "bureau" },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
        assert!(check_file("a.pdf", b"<svg onload=alert(1)>".to_vec()).is_err());
        let f = check_file("C:\\photos\\收据.pdf", b"%PDF-1.4 x".to_vec()).unwrap();
        assert_eq!(
            (f.name.as_str(), f.content_type.as_str()),
            ("收据.pdf", "application/pdf")
        );
        let f = check_file("", b"%PDF-1.4 x".to_vec()).unwrap();
        assert_eq!(f.name, "evidence.pdf");
        assert!(
            check_file(
                "big.pdf",
                [b"%PDF-".to_vec(), vec![0; MAX_FILE_BYTES]].concat()
            )
            .is_err()
        );
    }
}
