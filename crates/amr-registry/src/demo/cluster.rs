//! Cluster addresses (集群注册, 商务秘书, 孵化器, 集中办公): a few buildings per prefecture
//! where many entities have their domicile, one room or desk each.
//!
//! Real provinces have them: a business-secretary firm or an incubator hosts dozens of
//! entities at one address. Some are declared cluster-registration addresses; most are not,
//! and those are what the false-address risk review is for.
//!
//! The sites are planned from their own ChaCha20 stream per prefecture
//! ([`CITY_STREAM`] | city code), and whether an entity moves to its county's site is drawn
//! from another stream per county ([`COUNTY_STREAM`] | county code), so the entities' own
//! draws are the same as without clusters: only the address and town of the chosen
//! entities change.

use serde::Serialize;

use amr_kernel::codes::division::Division;

use super::entity::{City, County, road};
use super::sample::Sampler;
use super::tables::{
    CLUSTER_CHANCE, CLUSTER_DECLARED, CLUSTER_KINDS, CLUSTER_NAMES, CLUSTER_SITES,
    CLUSTER_SITES_HEAVY,
};
use crate::model::{EntityType, NewEntity};

/// Stream numbers of the site plans (| the 4-digit city code).
const CITY_STREAM: u64 = 1 << 40;
/// Stream numbers of the per-county draws (| the 6-digit county code).
const COUNTY_STREAM: u64 = 1 << 41;

/// A cluster address of the demo province.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterSite {
    /// 4-digit prefecture code.
    pub city: String,
    /// 6-digit county code.
    pub county: &'static str,
    /// The division of the entities there: the town's 9-digit code (the county's when it
    /// has no towns).
    pub division: &'static str,
    /// The address without floor and room: `{市}{县区}{街道}{路}{n}号{楼宇}`.
    pub address: String,
    /// Whether the demo declares it a cluster-registration address (集群注册).
    pub declared: bool,
    /// The share of the county's entities registered there, per 10,000.
    pub chance_per_10000: u64,
}

/// Plans the sites of one prefecture: `n` of them, each in a different county, districts
/// (county digits 01–20) first.
pub(crate) fn plan_city(
    seed: u64,
    city_code: &str,
    city: &City,
    counties: &[(usize, &County)],
    heavy: bool,
) -> Vec<(usize, ClusterSite)> {
    let stream = CITY_STREAM | city_code.parse::<u64>().unwrap_or(0);
    let mut s = Sampler::new(seed, stream);
    let n = if heavy {
        CLUSTER_SITES_HEAVY
    } else {
        CLUSTER_SITES
    };
    let district = |c: &County| matches!(c.code[4..6].parse::<u32>(), Ok(1..=20));
    let mut districts: Vec<(usize, &County)> = counties
        .iter()
        .copied()
        .filter(|(_, c)| district(c))
        .collect();
    let mut others: Vec<(usize, &County)> = counties
        .iter()
        .copied()
        .filter(|(_, c)| !district(c))
        .collect();
    let mut sites = Vec::with_capacity(n);
    for k in 0..n {
        let pool = if districts.is_empty() {
            &mut others
        } else {
            &mut districts
        };
        if pool.is_empty() {
            break;
        }
        let (index, county) = pool.remove(s.index(pool.len()));
        let streets: Vec<&'static Division> = county
            .towns
            .iter()
            .copied()
            .filter(|t| t.name.ends_with("街道"))
            .collect();
        let town = match (streets.is_empty(), county.towns.is_empty()) {
            (false, _) => Some(*s.pick(&streets)),
            (true, false) => Some(*s.pick(&county.towns)),
            (true, true) => None,
        };
        let road = road(&mut s);
        let number = 1 + s.uniform(300);
        let building = format!("{}{}", s.pick(CLUSTER_NAMES), s.pick(CLUSTER_KINDS));
        let chance = s.between(CLUSTER_CHANCE.0, CLUSTER_CHANCE.1);
        let declared = k == 0 && (heavy || s.chance(CLUSTER_DECLARED));
        sites.push((
            index,
            ClusterSite {
                city: city_code.to_string(),
                county: county.code,
                division: town.map_or(county.code, |t| t.code),
                address: format!(
                    "{}{}{}{road}{number}号{building}",
                    city.name,
                    county.name,
                    town.map_or("", |t| t.name)
                ),
                declared,
                chance_per_10000: chance,
            },
        ));
    }
    sites
}

/// The per-county draws of whether an entity registers at the county's site.
pub(crate) struct Placer {
    sampler: Sampler,
}

impl Placer {
    pub(crate) fn new(seed: u64, county_code: &str) -> Placer {
        let stream = COUNTY_STREAM | county_code.parse::<u64>().unwrap_or(0);
        Placer {
            sampler: Sampler::new(seed, stream),
        }
    }

    /// Moves the entity to the site (a room of its own there) when drawn; cooperatives stay
    /// on their farms.
    pub(crate) fn place(&mut self, site: &ClusterSite, e: &mut NewEntity) {
        let s = &mut self.sampler;
        if !s.chance(site.chance_per_10000) || e.entity_type == EntityType::FarmerCooperative {
            return;
        }
        let floor = s.between(2, 20);
        let room = floor * 100 + s.between(1, 40);
        e.address = format!("{}{floor}层{room}室", site.address);
        e.division = site.division.to_string();
    }
}
