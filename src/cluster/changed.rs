//! The nodes that may have changed since the report last looked: the per-minute sample
//! recomputes their figures alone and keeps running sums of the rest (issue 13: summing
//! every node of scale-5k each minute cost more than 5 % of its run).
//!
//! A node is marked by every operation of the cluster on it ([`Cluster::touch`]: a bind, a
//! retry that got an address, a delete, an eviction, a launch, Ready, a termination) and by
//! every ipamd wake-up ([`Cluster::wake_node`]); a failed CNI ADD changes no figure. The
//! report marks the nodes whose figures change with the clock alone (addresses cooling).
//! Marks are bits, taken in node order, so the sample reads the nodes' state front to back.

use super::{Cluster, Node};

/// The marked nodes: one bit each.
#[derive(Clone, Debug, Default)]
pub struct ChangedNodes {
    words: Vec<u64>,
}

impl ChangedNodes {
    /// Marks node `n`.
    #[inline]
    pub fn mark(&mut self, n: usize) {
        match self.words.get_mut(n / 64) {
            Some(w) => *w |= 1 << (n % 64),
            None => self.grow_and_mark(n),
        }
    }

    /// [`ChangedNodes::mark`] of a node past the words held (a node's first mark): out of
    /// line, so the mark on every pod event is a load, an or and a store.
    #[cold]
    #[inline(never)]
    fn grow_and_mark(&mut self, n: usize) {
        self.words.resize(n / 64 + 1, 0);
        self.mark(n);
    }

    /// Appends the marked nodes to `out` in increasing order, and forgets the marks.
    pub fn take_into(&mut self, out: &mut Vec<u32>) {
        for (i, word) in self.words.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                out.push((i * 64) as u32 + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
    }
}

impl Cluster {
    /// The nodes, and the marks of those that may have changed since the marks were last
    /// taken (the report's sample: module docs).
    pub fn nodes_changed(&mut self) -> (&[Node], &mut ChangedNodes) {
        (&self.nodes, &mut self.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_taken_once_in_node_order() {
        let mut c = ChangedNodes::default();
        for n in [130, 2, 130, 0, 63, 64, 2] {
            c.mark(n);
        }
        let mut out = vec![7];
        c.take_into(&mut out);
        assert_eq!(out, [7, 0, 2, 63, 64, 130]);
        out.clear();
        c.take_into(&mut out);
        assert!(out.is_empty());
        c.mark(5);
        c.take_into(&mut out);
        assert_eq!(out, [5]);
    }
}
