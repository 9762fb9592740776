//! RFC 6962 Merkle tree hashing, proofs and their verification, without IO.
//!
//! - leaf hash `SHA-256(0x00 || entry)`, node hash `SHA-256(0x01 || left || right)`, the
//!   empty tree `SHA-256("")` (RFC 6962 §2.1);
//! - the proofs are described first as the *ranges* of leaves `[a, b)` whose tree hashes
//!   `MTH(D[a:b])` they list ([`inclusion_ranges`]: PATH of §2.1.1, [`consistency_ranges`]:
//!   PROOF/SUBPROOF of §2.1.2), so a store can fetch what they need and nothing else;
//! - a range's hash comes from complete aligned subtrees ([`Subtree`], [`range_subtrees`]),
//!   which a store keeps, folded right to left ([`fold_range`]);
//! - [`verify_inclusion`] and [`verify_consistency`] are the algorithms of RFC 9162
//!   §2.1.3.2 and §2.1.4.2, usable offline by anyone.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The hash of a leaf: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A complete subtree aligned on its size: leaves `[index · 2^level, (index + 1) · 2^level)`.
/// Level 0 is a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtree {
    pub level: u32,
    pub index: u64,
}

impl Subtree {
    pub fn start(self) -> u64 {
        self.index << self.level
    }

    pub fn end(self) -> u64 {
        (self.index + 1) << self.level
    }
}

/// The largest power of two strictly smaller than `n` (`n ≥ 2`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The complete aligned subtrees that make up the range `[a, b)` as RFC 6962 splits it, the
/// biggest (leftmost) first. `a` must be a multiple of the largest power of two below
/// `b - a` (true of every range a proof or a tree head names).
pub fn range_subtrees(a: u64, b: u64) -> Vec<Subtree> {
    let mut out = Vec::new();
    let mut at = a;
    let mut left = b - a;
    while left > 0 {
        let level = 63 - left.leading_zeros();
        out.push(Subtree {
            level,
            index: at >> level,
        });
        at += 1u64 << level;
        left -= 1u64 << level;
    }
    out
}

/// `MTH(D[a:b])` from the hashes of its [`range_subtrees`] (in that order): folded from the
/// right, as the RFC's recursion builds it. `None` for an empty list.
pub fn fold_range(pieces: &[Hash]) -> Option<Hash> {
    let (last, rest) = pieces.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, p| node_hash(p, &acc)))
}

/// The ranges whose tree hashes form the audit path of leaf `m` in a tree of `n` leaves
/// (RFC 6962 §2.1.1 PATH), in proof order (nearest the leaf first). Requires `m < n`.
pub fn inclusion_ranges(m: u64, n: u64) -> Vec<(u64, u64)> {
    fn path(m: u64, a: u64, b: u64, out: &mut Vec<(u64, u64)>) {
        if b - a <= 1 {
            return;
        }
        let k = split(b - a);
        if m < a + k {
            path(m, a, a + k, out);
            out.push((a + k, b));
        } else {
            path(m, a + k, b, out);
            out.push((a, a + k));
        }
    }
    let mut out = Vec::new();
    if m < n {
        path(m, 0, n, &mut out);
    }
    out
}

/// The ranges whose tree hashes form the consistency proof between the tree of `m` leaves
/// and the tree of `n` leaves (RFC 6962 §2.1.2 PROOF), in proof order. Empty when
/// `m == n`; requires `0 < m ≤ n`.
pub fn consistency_ranges(m: u64, n: u64) -> Vec<(u64, u64)> {
    fn subproof(m: u64, a: u64, b: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
        let n = b - a;
        if m == n {
            if !complete {
                out.push((a, b));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            subproof(m, a, a + k, complete, out);
            out.push((a + k, b));
        } else {
            subproof(m - k, a + k, b, false, out);
            out.push((a, a + k));
        }
    }
    let mut out = Vec::new();
    if 0 < m && m < n {
        subproof(m, 0, n, true, &mut out);
    }
    out
}

/// The subtrees a tree of `n` leaves appends (complete) when its leaves `[from, to)` arrive:
/// every `(level ≥ 1, index)` whose last leaf is in that range, in order of completion.
pub fn completed_by(from: u64, to: u64) -> impl Iterator<Item = Subtree> {
    (from..to).flat_map(|leaf| {
        // Leaf `leaf` completes the subtrees of every level up to its count of trailing 1 bits.
        let ones = (leaf + 1).trailing_zeros();
        (1..=ones).map(move |level| Subtree {
            level,
            index: (leaf + 1) / (1u64 << level) - 1,
        })
    })
}

/// The root computed from an audit path (RFC 9162 §2.1.3.2), or `None` when the path cannot
/// belong to a leaf `index` of a tree of `size` leaves.
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// Whether `path` proves that `leaf` (a leaf hash) is leaf `index` of the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    root_from_inclusion(index, size, leaf, path).is_some_and(|r| &r == root)
}

/// Whether `proof` proves that the tree of `size1` leaves with root `root1` is a prefix of the
/// tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2). Equal sizes need an empty
/// proof and equal roots; an empty first tree needs an empty proof and the empty root.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> bool {
    if size1 > size2 {
        return false;
    }
    if size1 == size2 {
        return proof.is_empty() && root1 == root2;
    }
    if size1 == 0 {
        return proof.is_empty() && root1 == &empty_root();
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let mut f = size1 - 1;
    let mut s = size2 - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && &fr == root1 && &sr == root2
}

/// The tree hash of a list of leaf hashes, computed in memory (for tests and small trees).
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The eight leaves of the RFC 6962 / certificate-transparency test data.
    fn ct_leaves() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            (0x60..=0x6f).collect(),
        ]
    }

    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// Hashes of ranges from complete subtrees, as a store computes them.
    fn range_hash(leaves: &[Hash], a: u64, b: u64) -> Hash {
        let pieces: Vec<Hash> = range_subtrees(a, b)
            .into_iter()
            .map(|s| root_of(&leaves[s.start() as usize..s.end() as usize]))
            .collect();
        fold_range(&pieces).unwrap()
    }

    fn inclusion(leaves: &[Hash], m: u64, n: u64) -> Vec<Hash> {
        inclusion_ranges(m, n)
            .into_iter()
            .map(|(a, b)| range_hash(leaves, a, b))
            .collect()
    }

    fn consistency(leaves: &[Hash], m: u64, n: u64) -> Vec<Hash> {
        consistency_ranges(m, n)
            .into_iter()
            .map(|(a, b)| range_hash(leaves, a, b))
            .collect()
    }

    #[test]
    fn roots_match_the_rfc_6962_vectors() {
        let l: Vec<Hash> = ct_leaves().iter().map(|d| leaf_hash(d)).collect();
        for (n, want) in ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root_of(&l[..n])), *want, "size {n}");
            if n > 0 {
                assert_eq!(hex::encode(range_hash(&l, 0, n as u64)), *want, "size {n}");
            }
        }
        assert_eq!(empty_root(), h(ROOTS[0]));
        assert_ne!(leaf_hash(&[l[0], l[1]].concat()), node_hash(&l[0], &l[1]));
    }

    #[test]
    fn inclusion_proofs_match_the_rfc_6962_vectors() {
        let l: Vec<Hash> = ct_leaves().iter().map(|d| leaf_hash(d)).collect();
        let vectors: [(u64, u64, Vec<&str>); 5] = [
            (0, 1, vec![]),
            (
                0,
                8,
                vec![
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                vec![
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                vec!["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                vec![
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, want) in vectors {
            let got = inclusion(&l, m, n);
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(got, want, "PATH({m}, D[{n}])");
            let root = h(ROOTS[n as usize]);
            assert!(verify_inclusion(m, n, &l[m as usize], &got, &root));
        }
    }

    #[test]
    fn consistency_proofs_match_the_rfc_6962_vectors() {
        let l: Vec<Hash> = ct_leaves().iter().map(|d| leaf_hash(d)).collect();
        let vectors: [(u64, u64, Vec<&str>); 4] = [
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                vec![
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                vec![
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, want) in vectors {
            let got = consistency(&l, m, n);
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(got, want, "PROOF({m}, D[{n}])");
            assert!(verify_consistency(
                m,
                n,
                &h(ROOTS[m as usize]),
                &h(ROOTS[n as usize]),
                &got
            ));
        }
    }

    #[test]
    fn every_proof_up_to_40_leaves_verifies_and_any_change_fails() {
        let l: Vec<Hash> = (0..40u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=40u64 {
            let root = root_of(&l[..n as usize]);
            for m in 0..n {
                let p = inclusion(&l, m, n);
                assert!(verify_inclusion(m, n, &l[m as usize], &p, &root), "{m}/{n}");
                if n > 1 {
                    let other = (m + 1) % n;
                    assert!(!verify_inclusion(other, n, &l[m as usize], &p, &root));
                    assert!(!verify_inclusion(m, n, &l[other as usize], &p, &root));
                }
                for i in 0..p.len() {
                    let mut bad = p.clone();
                    bad[i][7] ^= 0x20;
                    assert!(!verify_inclusion(m, n, &l[m as usize], &bad, &root));
                }
                if !p.is_empty() {
                    assert!(!verify_inclusion(m, n, &l[m as usize], &p[1..], &root));
                }
                let mut longer = p.clone();
                longer.push(root);
                assert!(!verify_inclusion(m, n, &l[m as usize], &longer, &root));
            }
            for m in 1..=n {
                let old = root_of(&l[..m as usize]);
                let p = consistency(&l, m, n);
                assert!(verify_consistency(m, n, &old, &root, &p), "{m}->{n}");
                for i in 0..p.len() {
                    let mut bad = p.clone();
                    bad[i][0] ^= 1;
                    assert!(!verify_consistency(m, n, &old, &root, &bad), "{m}->{n} {i}");
                }
                if m < n {
                    let mut wrong_old = old;
                    wrong_old[31] ^= 1;
                    assert!(!verify_consistency(m, n, &wrong_old, &root, &p));
                    assert!(!verify_consistency(m, n, &old, &old, &p));
                    assert!(!verify_consistency(n, m, &root, &old, &p));
                }
            }
        }
    }

    #[test]
    fn completed_subtrees_are_exactly_the_new_complete_ones() {
        let all: Vec<Subtree> = completed_by(0, 8).collect();
        assert_eq!(all.len(), 7);
        assert!(all.contains(&Subtree { level: 3, index: 0 }));
        let later: Vec<Subtree> = completed_by(5, 8).collect();
        assert_eq!(
            later,
            vec![
                Subtree { level: 1, index: 2 },
                Subtree { level: 1, index: 3 },
                Subtree { level: 2, index: 1 },
                Subtree { level: 3, index: 0 },
            ]
        );
        assert_eq!(range_subtrees(0, 7).len(), 3);
        assert_eq!(
            range_subtrees(4, 7),
            vec![
                Subtree { level: 1, index: 2 },
                Subtree { level: 0, index: 6 }
            ]
        );
    }
}
