//! The demo province: a deterministic synthetic Shandong over the real divisions.
//!
//! [`Generator`] yields [`NewEntity`] records county by county, for any number of entities
//! up to [`MAX_ENTITIES`], with memory bounded by the largest county (its names and codes
//! are kept to keep them unique, and dropped when the county is done).
//!
//! # Determinism
//!
//! The same [`DemoSpec`] (seed, count, province) gives byte-identical records on every run
//! and machine: each county draws from its own ChaCha20 stream (key = the seed, stream =
//! the county code), every distribution is implemented here on the raw 64-bit words with
//! integer arithmetic (`sample.rs`), and the tables are embedded. Any change to what is
//! drawn, or in which order, must bump [`GENERATOR_VERSION`] (a golden test guards it).
//! The USCCs are built here from uniform characters and the kernel's check-character
//! rules rather than by `Uscc::generate`, whose character sampling belongs to `rand`.
//!
//! # Proportions (version 2)
//!
//! - **Counties.** Every county-level division of the province except the statistical-only
//!   development zones (county digits 71–79, e.g. `370176 济南高新区`). Weight: 市辖区
//!   (county digits 01–20) 6, 县级市 (81–99) 4, 县 (21–70) 3; the districts of 济南 (3701)
//!   and 青岛 (3702) count double (12). The entities are apportioned to counties by these
//!   weights exactly (largest remainder), then generated one county after the other.
//! - **Towns.** Each entity lies in a town of its county drawn by weight: 街道 3, 镇 2,
//!   乡 and others 1. Its `division` is the 9-digit town code.
//! - **Types.** 个体工商户 68 %, 企业 30 %, 农民专业合作社 1 %, 分支机构 1 %.
//! - **Statuses.** 存续 93 %, 歇业 3 %, 吊销 2 %, 注销 2 %.
//! - **Industry.** A GB/T 4754 division by a per-type weight (`tables.rs`), then one of its
//!   classes uniformly. 个体工商户: retail (52) 42 %, catering (62) 15 %, household services
//!   (80) 8 %, wholesale (51) 6 %, repair (81) 5 %, …; 企业 and branches: wholesale (51),
//!   business services (72), retail (52), technology (75, 65), construction (47–50), …,
//!   every other division a little, never sections S and T; cooperatives: farming (01–05)
//!   and farm-produce processing (13).
//! - **Names.** 行政区划 + 字号 + 行业 + 组织形式. 行政区划: the short name (without 市/区/县)
//!   of the city (60 % of enterprises) or of the county (other enterprises, individual
//!   businesses, cooperatives). 字号: a line of `data/names/brand.txt` of 2–3 Chinese
//!   characters that does not end in a 行业 word (219,493 of the 284,835). 行业: a
//!   `trade.txt` word found in the class name (百货 in 百货零售; half the time when there is
//!   one) or a word listed for the division (商贸 for 51). 组织形式: enterprises 有限公司
//!   85 %, 有限责任公司 12 %, 股份有限公司 3 %; individual businesses a `suffix.txt` form
//!   fitting the class or division (超市 for 5212, 餐厅/馆/店/坊 for catering, 经营部/工作室/
//!   服务部/店 otherwise); cooperatives 专业合作社; a branch is an enterprise name of a city
//!   (its own city 70 %) + the town's or county's short name + 分公司. A name already used
//!   in the county draws another 字号 (after 64 misses, two 字号 joined).
//! - **People.** The legal representative: a surname by national frequency (100 surnames),
//!   one or two given-name characters (65 % men), a resident ID of the county with a birth
//!   date 1950–2003 and at least 18 years before establishment, and a mobile number.
//! - **Capital.** 企业 10–5,000 万元, 合作社 1–500 万元, round amounts favoured
//!   (`tables.rs`); none for individual businesses and branches.
//! - **Dates.** 1995-01-01 to 2026-10-31, year weights rising from 1 (1995–99) to 12
//!   (2022–25), uniform within the year.
//! - **Address.** `{市}{县区}{乡镇街道}{路名}{n}号`: the real division names and a road
//!   built from a name part (经十, 解放, 人民, …), an optional direction and 路/街/大道.
//! - **Cluster addresses** (version 2). Three sites in 济南 and 青岛, two in every other
//!   prefecture, each in a different district: `{市}{县区}{街道}{路}{n}号{楼宇}` with a
//!   building such as 汇智商务秘书服务中心, 云创创业孵化器 or 启航众创空间. Of the hosting
//!   county's entities (cooperatives excepted), a share drawn per site between 0.8 % and
//!   2.2 % register there, each in a room of its own (`12层1205室`): about 0.5 % of the
//!   province, a few dozen per site at 100,000 entities. The first site of 济南 and 青岛,
//!   and of other prefectures one time in three, is declared a cluster-registration
//!   address (集群注册; `amr demo` declares it to the address service); the others go to
//!   the false-address review queue once over its threshold. Drawn from streams of their
//!   own (`cluster.rs`): the entities' other fields are those of version 1.
//! - **Scope.** The class name, one or two other classes of its division, and
//!   “（依法须经批准的项目，经相关部门批准后方可开展经营活动）”.

mod cluster;
mod entity;
mod people;
mod sample;
mod tables;
mod vocab;

use amr_kernel::codes::division::{Level, divisions};
use amr_kernel::error::AppError;
use serde::{Deserialize, Serialize};

pub use self::cluster::ClusterSite;
use self::cluster::Placer;
use self::entity::{City, Context, County, Seen, short_name};
use self::sample::{Sampler, Weights};
use crate::model::NewEntity;

/// The version of the generation rules; part of what a stored demo was made with.
pub const GENERATOR_VERSION: u32 = 2;

/// The largest province the generator accepts.
pub const MAX_ENTITIES: u64 = 100_000_000;

/// Prefectures whose districts weigh double: 济南 (the capital) and 青岛.
const HEAVY_CITIES: &[&str] = &["3701", "3702"];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoSpec {
    pub seed: u64,
    pub entities: u64,
    /// The 2-digit province code, `37` (Shandong).
    pub province: String,
}

impl Default for DemoSpec {
    fn default() -> DemoSpec {
        DemoSpec {
            seed: 37,
            entities: 100_000,
            province: "37".to_string(),
        }
    }
}

/// A county's share of the province.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountyShare {
    /// 6-digit county code.
    pub code: &'static str,
    pub name: &'static str,
    pub entities: u64,
}

/// The generator: an iterator over the province's entities, county by county.
pub struct Generator {
    spec: DemoSpec,
    cities: Vec<City>,
    counties: Vec<County>,
    quotas: Vec<u64>,
    /// The cluster addresses, and for each county the index of the one it hosts.
    sites: Vec<ClusterSite>,
    site_of: Vec<Option<usize>>,
    /// The county being generated: its index, stream, how many are left, what was used,
    /// and the draws of its cluster site.
    current: Option<(usize, Sampler, u64, Seen, Option<Placer>)>,
    next_county: usize,
    produced: u64,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("spec", &self.spec)
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

/// The county weight (see the module documentation); 0 for development zones.
fn county_weight(code: &str) -> u64 {
    let digits: u32 = code[4..6].parse().unwrap_or(0);
    let heavy = HEAVY_CITIES.contains(&&code[..4]);
    match digits {
        1..=20 if heavy => 12,
        1..=20 => 6,
        21..=70 => 3,
        81..=99 => 4,
        _ => 0,
    }
}

/// Apportions `n` by the weights: the floor of each exact share, then one more to the
/// largest remainders (the earlier county first on a tie).
fn apportion(n: u64, weights: &[u64]) -> Vec<u64> {
    let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<(u64, u128)> = weights
        .iter()
        .map(|&w| {
            let x = u128::from(n) * u128::from(w);
            ((x / total) as u64, x % total)
        })
        .collect();
    let mut quotas: Vec<u64> = exact.iter().map(|e| e.0).collect();
    let left = n - quotas.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for &i in order.iter().take(left as usize) {
        quotas[i] += 1;
    }
    quotas
}

fn town_weight(name: &str) -> u64 {
    if name.ends_with("街道") {
        3
    } else if name.ends_with('镇') {
        2
    } else {
        1
    }
}

impl Generator {
    /// Plans the province: its cities, counties and each county's number of entities.
    pub fn new(spec: DemoSpec) -> Result<Generator, AppError> {
        let table = divisions();
        let province = table
            .get(&spec.province)
            .filter(|d| d.level == Level::Province && d.code == spec.province)
            .ok_or_else(|| {
                AppError::bad_request(
                    "province",
                    format!(
                        "“{}”不是省级行政区划代码 (not a province code)",
                        spec.province
                    ),
                )
            })?;
        if spec.entities > MAX_ENTITIES {
            return Err(AppError::bad_request(
                "entities",
                format!("最多 {MAX_ENTITIES} 个 (at most {MAX_ENTITIES} entities)"),
            ));
        }
        let mut cities = Vec::new();
        let mut counties = Vec::new();
        for prefecture in table.children(province.code) {
            let city = cities.len();
            for county in table.children(prefecture.code) {
                if county.level != Level::County || county_weight(county.code) == 0 {
                    continue;
                }
                let towns: Vec<_> = table.children(county.code).collect();
                counties.push(County {
                    code: county.code,
                    name: county.name,
                    short: short_name(county.name).to_string(),
                    city,
                    town_weights: Weights::new(towns.iter().map(|t| town_weight(t.name))),
                    towns,
                });
            }
            cities.push(City {
                name: prefecture.name,
                short: short_name(prefecture.name).to_string(),
            });
        }
        if counties.is_empty() {
            return Err(AppError::bad_request(
                "province",
                format!("{} 没有县级行政区划 (has no counties)", spec.province),
            ));
        }
        let weights: Vec<u64> = counties.iter().map(|c| county_weight(c.code)).collect();
        let quotas = apportion(spec.entities, &weights);
        let mut sites = Vec::new();
        let mut site_of = vec![None; counties.len()];
        for (ci, city) in cities.iter().enumerate() {
            let members: Vec<(usize, &County)> = counties
                .iter()
                .enumerate()
                .filter(|(_, c)| c.city == ci)
                .collect();
            let Some((_, first)) = members.first() else {
                continue;
            };
            let code = &first.code[..4];
            let heavy = HEAVY_CITIES.contains(&code);
            for (county, site) in cluster::plan_city(spec.seed, code, city, &members, heavy) {
                site_of[county] = Some(sites.len());
                sites.push(site);
            }
        }
        Ok(Generator {
            spec,
            cities,
            counties,
            quotas,
            sites,
            site_of,
            current: None,
            next_county: 0,
            produced: 0,
        })
    }

    /// The spec this generator follows.
    pub fn spec(&self) -> &DemoSpec {
        &self.spec
    }

    /// How many entities have been yielded so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Every county with its number of entities, in generation order.
    pub fn shares(&self) -> Vec<CountyShare> {
        self.counties
            .iter()
            .zip(&self.quotas)
            .map(|(c, &n)| CountyShare {
                code: c.code,
                name: c.name,
                entities: n,
            })
            .collect()
    }

    /// The province's cluster addresses (a few per prefecture; see [`ClusterSite`]).
    pub fn cluster_sites(&self) -> &[ClusterSite] {
        &self.sites
    }

    /// Up to `n` next entities (fewer only at the end; empty when done).
    pub fn next_batch(&mut self, n: usize) -> Vec<NewEntity> {
        let mut out = Vec::with_capacity(n.min(self.remaining() as usize));
        out.extend(self.by_ref().take(n));
        out
    }

    /// How many entities are still to come.
    pub fn remaining(&self) -> u64 {
        self.spec.entities - self.produced
    }
}

impl Iterator for Generator {
    type Item = NewEntity;

    fn next(&mut self) -> Option<NewEntity> {
        loop {
            if let Some((i, sampler, left, seen, placer)) = &mut self.current
                && *left > 0
            {
                *left -= 1;
                let cx = Context {
                    vocab: vocab::vocab(),
                    cities: &self.cities,
                    county: &self.counties[*i],
                };
                self.produced += 1;
                let mut e = entity::entity(sampler, &cx, seen);
                if let (Some(placer), Some(site)) = (placer, self.site_of[*i]) {
                    placer.place(&self.sites[site], &mut e);
                }
                return Some(e);
            }
            // The county is done: drop its sets and start the next one with entities.
            self.current = None;
            let i = (self.next_county..self.counties.len()).find(|&i| self.quotas[i] > 0)?;
            self.next_county = i + 1;
            let stream: u64 = self.counties[i].code.parse().expect("numeric county code");
            let placer =
                self.site_of[i].map(|_| Placer::new(self.spec.seed, self.counties[i].code));
            self.current = Some((
                i,
                Sampler::new(self.spec.seed, stream),
                self.quotas[i],
                Seen::default(),
                placer,
            ));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining()).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact_and_proportional() {
        assert_eq!(apportion(10, &[1, 1, 1]), [4, 3, 3]);
        assert_eq!(apportion(7, &[6, 0, 1]), [6, 0, 1]);
        assert_eq!(apportion(0, &[2, 3]), [0, 0]);
        let q = apportion(15_000_000, &[12, 6, 4, 3]);
        assert_eq!(q.iter().sum::<u64>(), 15_000_000);
        assert_eq!(q[0], 2 * q[1]);
    }

    #[test]
    fn county_weights_follow_the_code_classes() {
        assert_eq!(county_weight("370102"), 12);
        assert_eq!(county_weight("370302"), 6);
        assert_eq!(county_weight("370124"), 3);
        assert_eq!(county_weight("370781"), 4);
        assert_eq!(county_weight("370176"), 0);
        assert_eq!(short_name("历下区"), "历下");
        assert_eq!(short_name("莒县"), "莒县");
        assert_eq!(short_name("燕山街道"), "燕山");
    }
}
