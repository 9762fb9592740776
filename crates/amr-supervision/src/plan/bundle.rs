//! Writing a plan's bundle (`draw::model::Bundle`, its JSON field for field and in its field
//! order) piece by piece, so neither the server nor `amr inspect draw` ever holds the whole
//! bundle: the targets come chunk by chunk, the visits page by page.

use std::collections::BTreeMap;
use std::io::Write;

use axum::body::Body;
use serde::Serialize;

use amr_kernel::db::Db;
use amr_kernel::error::AppError;

use super::chunks;
use super::store::{self, PlanRecord, VisitFilter};
use crate::draw::model::{
    ALGORITHM, BUNDLE_FORMAT, Inspector, ItemRef, Plan, Report, SeedSource, Target, TaskSample,
    Visit,
};

fn io(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("bundle: {e}"))
}

/// What comes before the lists.
#[derive(Debug, Serialize)]
pub struct Head<'a> {
    pub plan: &'a Plan,
    pub items: &'a [ItemRef],
    pub targets_hash: &'a str,
    pub inspectors_hash: &'a str,
    pub seed: &'a SeedSource,
}

/// A bundle written in order: [`BundleWriter::head`], then the arrays `targets`,
/// `inspectors`, `samples`, `visits` (each opened, filled, closed), then
/// [`BundleWriter::finish`].
#[derive(Debug)]
pub struct BundleWriter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> BundleWriter<W> {
    pub fn new(out: W) -> BundleWriter<W> {
        BundleWriter { out, first: true }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn raw(&mut self, s: &str) -> Result<(), AppError> {
        self.out.write_all(s.as_bytes()).map_err(io)
    }

    fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), AppError> {
        serde_json::to_writer(&mut self.out, v).map_err(io)
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, v: &T) -> Result<(), AppError> {
        self.raw(&format!(",\"{name}\":"))?;
        self.value(v)
    }

    pub fn head(&mut self, head: &Head<'_>) -> Result<(), AppError> {
        self.raw("{\"format\":")?;
        self.value(BUNDLE_FORMAT)?;
        self.field("algorithm", ALGORITHM)?;
        self.field("plan", head.plan)?;
        self.field("items", head.items)?;
        self.field("targets_hash", head.targets_hash)?;
        self.field("inspectors_hash", head.inspectors_hash)?;
        self.field("seed", head.seed)
    }

    pub fn open(&mut self, name: &str) -> Result<(), AppError> {
        self.first = true;
        self.raw(&format!(",\"{name}\":["))
    }

    pub fn element<T: Serialize>(&mut self, v: &T) -> Result<(), AppError> {
        if !self.first {
            self.raw(",")?;
        }
        self.first = false;
        self.value(v)
    }

    pub fn close(&mut self) -> Result<(), AppError> {
        self.raw("]")
    }

    pub fn finish(
        mut self,
        report: &Report,
        meta: &BTreeMap<String, String>,
    ) -> Result<W, AppError> {
        self.field("report", report)?;
        self.field("meta", meta)?;
        self.raw("}\n")?;
        Ok(self.out)
    }
}

/// Bytes sent a time.
const FLUSH: usize = 256 * 1024;

type Sender = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;

async fn flush(w: &mut BundleWriter<Vec<u8>>, tx: &Sender, force: bool) -> Result<(), AppError> {
    if force || w.get_mut().len() >= FLUSH {
        let bytes = std::mem::take(w.get_mut());
        tx.send(Ok(bytes))
            .await
            .map_err(|_| io("the client went away"))?;
    }
    Ok(())
}

async fn write_drawn(db: &Db, rec: &PlanRecord, tx: &Sender) -> Result<(), AppError> {
    let items: Vec<ItemRef> = chunks::read_all(db, rec.id, chunks::ITEMS).await?;
    let seed = SeedSource {
        commitment: rec.seed_commitment.clone(),
        secret: rec.seed_secret.clone(),
        public_value: rec.public_value.clone(),
        seed: rec.seed.clone().unwrap_or_default(),
    };
    let mut w = BundleWriter::new(Vec::with_capacity(FLUSH * 2));
    w.head(&Head {
        plan: &rec.plan,
        items: &items,
        targets_hash: rec.targets_hash.as_deref().unwrap_or_default(),
        inspectors_hash: rec.inspectors_hash.as_deref().unwrap_or_default(),
        seed: &seed,
    })?;
    w.open("targets")?;
    let mut chunk = 0;
    while let Some(bytes) = chunks::read(db, rec.id, chunks::TARGETS, chunk).await? {
        for t in chunks::decode::<Target>(&bytes)? {
            w.element(&t)?;
        }
        flush(&mut w, tx, false).await?;
        chunk += 1;
    }
    w.close()?;
    w.open("inspectors")?;
    for i in chunks::read_all::<Inspector>(db, rec.id, chunks::INSPECTORS).await? {
        w.element(&i)?;
    }
    w.close()?;
    flush(&mut w, tx, false).await?;
    w.open("samples")?;
    let mut chunk = 0;
    while let Some(bytes) = chunks::read(db, rec.id, chunks::SAMPLES, chunk).await? {
        for s in chunks::decode::<TaskSample>(&bytes)? {
            w.element(&s)?;
            flush(&mut w, tx, false).await?;
        }
        chunk += 1;
    }
    w.close()?;
    w.open("visits")?;
    let mut after = 0;
    loop {
        let page = store::visits(db, rec.id, VisitFilter::All, after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.no;
        for v in page {
            w.element(&Visit {
                no: v.no as u64,
                uscc: v.uscc,
                division: v.division,
                tasks: v.tasks,
                departments: v.departments,
                crews: v.crews,
                unstaffed: v.unstaffed,
            })?;
        }
        flush(&mut w, tx, false).await?;
    }
    w.close()?;
    let mut meta = BTreeMap::new();
    meta.insert("plan_id".to_string(), rec.id.to_string());
    if let Some(at) = rec.published_at {
        meta.insert("published_at".to_string(), at.to_rfc3339());
    }
    if let Some(at) = rec.drawn_at {
        meta.insert("drawn_at".to_string(), at.to_rfc3339());
    }
    let mut w = BundleWriter::new(w.finish(&rec.report.clone().unwrap_or_default(), &meta)?);
    flush(&mut w, tx, true).await
}

/// The bundle of a drawn plan as a streamed body.
pub fn body(db: Db, rec: PlanRecord) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        if let Err(e) = write_drawn(&db, &rec, &tx).await {
            tracing::error!(plan = rec.id, error = %e, "writing the bundle failed");
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::model::{Bundle, DEFAULT_RATIOS, PLAN_FORMAT, RiskClass};
    use chrono::NaiveDate;

    #[test]
    fn the_written_bundle_reads_back_as_a_bundle() {
        let plan = Plan {
            format: PLAN_FORMAT.into(),
            name: "p".into(),
            period: "2026".into(),
            scope: "3701".into(),
            inspection_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            inspection_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            ratios: DEFAULT_RATIOS,
            inspectors_per_department: 2,
            workload_cap: 5,
            public_value_source: Some("x".into()),
            tasks: vec![],
        };
        let seed = SeedSource {
            commitment: None,
            secret: None,
            public_value: None,
            seed: "00".repeat(32),
        };
        let mut w = BundleWriter::new(Vec::new());
        w.head(&Head {
            plan: &plan,
            items: &[],
            targets_hash: "t",
            inspectors_hash: "i",
            seed: &seed,
        })
        .unwrap();
        w.open("targets").unwrap();
        for n in 0..3 {
            w.element(&Target {
                uscc: format!("91370102MA3C4Q2X0{n}"),
                division: "370102".into(),
                entity_type: "enterprise".into(),
                industry: "6210".into(),
                risk: RiskClass::B,
                tags: vec![],
            })
            .unwrap();
        }
        w.close().unwrap();
        for name in ["inspectors", "samples", "visits"] {
            w.open(name).unwrap();
            w.close().unwrap();
        }
        let bytes = w.finish(&Report::default(), &BTreeMap::new()).unwrap();
        let b: Bundle = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(b.format, BUNDLE_FORMAT);
        assert_eq!(b.algorithm, ALGORITHM);
        assert_eq!(b.targets.len(), 3);
        assert_eq!(b.targets.uscc(2), "91370102MA3C4Q2X02");
        assert_eq!(b.plan, plan);
        assert_eq!(b.seed, seed);
    }
}
