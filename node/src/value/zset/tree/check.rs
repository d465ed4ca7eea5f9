//! Structural checks of the tree for the tests: order, counts, links and separator bounds.

use std::cmp::Ordering;

use super::node::Key;
use super::{cmp_key, Element, Tree, NIL};

impl Tree {
    /// Checks every structural invariant (tests only): orders, counts, links, separators.
    pub(crate) fn check(&self, elements: &[Element]) {
        let mut leaves = Vec::new();
        let total = self.check_node(self.root, self.height, None, None, elements, &mut leaves);
        assert_eq!(total, self.len);
        assert_eq!(leaves.first().copied(), Some(self.first));
        assert_eq!(leaves.last().copied(), Some(self.last));
        for (i, &leaf) in leaves.iter().enumerate() {
            let l = &self.leaves[leaf as usize];
            let prev = if i == 0 { NIL } else { leaves[i - 1] };
            let next = leaves.get(i + 1).copied().unwrap_or(NIL);
            assert_eq!((l.prev, l.next), (prev, next));
            if leaves.len() > 1 {
                assert!(l.len() >= 1, "no empty leaf but an empty root");
            }
        }
    }

    fn check_node(
        &self,
        node: u32,
        height: usize,
        lo: Option<Key>,
        hi: Option<Key>,
        elements: &[Element],
        leaves: &mut Vec<u32>,
    ) -> usize {
        let within = |score: f64, member: &[u8]| {
            lo.as_ref()
                .is_none_or(|k| cmp_key(k.score, &k.member, score, member) != Ordering::Greater)
                && hi
                    .as_ref()
                    .is_none_or(|k| cmp_key(score, member, k.score, &k.member) == Ordering::Less)
        };
        if height == 0 {
            leaves.push(node);
            let l = &self.leaves[node as usize];
            for i in 0..l.len() {
                let e = &elements[l.ids[i] as usize];
                assert_eq!(e.score.to_bits(), l.scores[i].to_bits());
                assert!(within(l.scores[i], &e.member));
                if i > 0 {
                    let p = &elements[l.ids[i - 1] as usize];
                    assert_eq!(
                        cmp_key(p.score, &p.member, e.score, &e.member),
                        Ordering::Less
                    );
                }
            }
            return l.len();
        }
        let inner = &self.inners[node as usize];
        assert!(
            inner.len >= 2 || node != self.root,
            "a root inner node has 2 children"
        );
        let mut total = 0;
        for c in 0..inner.len {
            let (clo, chi) = (
                if c == 0 {
                    lo.clone()
                } else {
                    Some(inner.key(c - 1))
                },
                if c + 1 == inner.len {
                    hi.clone()
                } else {
                    Some(inner.key(c))
                },
            );
            let n = self.check_node(inner.children[c], height - 1, clo, chi, elements, leaves);
            assert_eq!(n, inner.counts[c] as usize);
            total += n;
        }
        total
    }
}
