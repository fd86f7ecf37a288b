//! "Did you mean …?": the closest known names to a misspelt one, by one rule everywhere
//! (instance types, aws-node variables).
//!
//! Distance is Levenshtein's (`strsim`, already in the build through clap). A name is
//! suggested when it is at most half the typed name's length away (at least 2 edits), so a
//! short typo still finds its word and a long unrelated name suggests nothing.

/// Up to `n` candidates closest to `name`, best first (ties in candidate order), within the
/// module's threshold.
pub fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<&'a str> {
    let limit = (name.chars().count() / 2).max(2);
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| (strsim::levenshtein(name, c), i, c))
        .filter(|(d, _, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, _, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_only_best_first() {
        let words = ["m5.large", "m5.xlarge", "c5.large", "t3.small"];
        assert_eq!(closest("m5.lrage", words, 2), ["m5.large", "m5.xlarge"]);
        assert_eq!(
            closest("WARM_IP_TARGT", ["WARM_IP_TARGET", "WARM_ENI_TARGET"], 1),
            ["WARM_IP_TARGET"]
        );
        assert!(closest("zzzzzzzzzz", words, 3).is_empty());
        assert_eq!(closest("ab", ["ab", "xy", "abcd"], 3), ["ab", "xy", "abcd"]);
    }
}
