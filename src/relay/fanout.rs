//! Which gateways get a group's push. `all`: every gateway (the usual way to
//! run two gateways for availability). `hash`: exactly one, chosen by
//! rendezvous (highest random weight) hashing of the group's canonical key
//! with each gateway's URL, so that a fleet spreads evenly over N gateways
//! and adding or removing one moves only the groups that pick it (about 1/N),
//! with no ring or virtual nodes to tune. Pure.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// How pushes are spread over several gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fanout {
    /// Every gateway gets every push.
    All,
    /// Each group goes to one gateway, chosen by a consistent hash of its grouping key.
    Hash,
}

/// The indexes into `gateways` that get the group whose canonical key is
/// `key`.
pub(crate) fn targets(fanout: Fanout, key: &[u8], gateways: &[String]) -> Vec<usize> {
    match fanout {
        Fanout::All => (0..gateways.len()).collect(),
        Fanout::Hash => pick(key, gateways).into_iter().collect(),
    }
}

/// The gateway with the highest weight for `key`; ties (practically
/// impossible) go to the lower URL so every relay agrees.
fn pick(key: &[u8], gateways: &[String]) -> Option<usize> {
    gateways
        .iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| weight(key, a).cmp(&weight(key, b)).then(b.cmp(a)))
        .map(|(i, _)| i)
}

fn weight(key: &[u8], gateway: &str) -> u64 {
    // The gateway's URL seeds the hash of the key: a fixed function of the
    // pair, the same on every machine and in every version.
    xxh3_64_with_seed(key, xxh3_64_with_seed(gateway.as_bytes(), 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grouping::GroupingKey;

    fn keys(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                GroupingKey::new([("job", "node"), ("instance", &format!("host{i}"))]).canonical()
            })
            .collect()
    }

    fn gateways(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("http://gw{i}:9091")).collect()
    }

    #[test]
    fn all_means_every_gateway() {
        assert_eq!(targets(Fanout::All, b"k", &gateways(3)), [0, 1, 2]);
        assert!(targets(Fanout::Hash, b"k", &[]).is_empty());
    }

    #[test]
    fn hash_spreads_evenly_and_is_stable() {
        let keys = keys(6000);
        let gws = gateways(3);
        let mut counts = [0usize; 3];
        for k in &keys {
            let t = targets(Fanout::Hash, k, &gws);
            assert_eq!(t.len(), 1);
            assert_eq!(t, targets(Fanout::Hash, k, &gws), "deterministic");
            counts[t[0]] += 1;
        }
        for c in counts {
            assert!((1700..2300).contains(&c), "uneven spread: {counts:?}");
        }
        // The choice does not depend on the order the gateways are listed in.
        let reversed: Vec<String> = gws.iter().rev().cloned().collect();
        for k in keys.iter().take(100) {
            let a = &gws[targets(Fanout::Hash, k, &gws)[0]];
            let b = &reversed[targets(Fanout::Hash, k, &reversed)[0]];
            assert_eq!(a, b);
        }
    }

    #[test]
    fn adding_a_gateway_moves_about_one_in_n() {
        let keys = keys(8000);
        let three = gateways(3);
        let four = gateways(4);
        let mut moved = 0;
        for k in &keys {
            let before = &three[targets(Fanout::Hash, k, &three)[0]];
            let after = &four[targets(Fanout::Hash, k, &four)[0]];
            if before != after {
                // A group only ever moves to the new gateway.
                assert_eq!(after, &four[3]);
                moved += 1;
            }
        }
        let share = moved as f64 / keys.len() as f64;
        assert!((0.2..0.3).contains(&share), "moved {share}");
    }
}
