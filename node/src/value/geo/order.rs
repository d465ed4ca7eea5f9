//! Ordering search results by distance exactly as Redis does, so that members at equal
//! distances come out in Redis's order. A full sort is glibc's `qsort`, a top-down stable merge
//! sort (`msort.c`); a `COUNT` below the number found sorts only the first places with Redis's
//! partial quicksort (`pqsort.c`, Bentley–McIlroy with median-of-three and ninther pivots).
//! Both use Redis's comparator (`sort_gp_asc`/`sort_gp_desc`), NaN included.

use super::area::Point;

/// Redis's comparator: `1`, `0` or `-1`; any comparison with NaN gives `-1` (ascending).
fn compare(a: &Point, b: &Point, desc: bool) -> i32 {
    let asc = if a.dist > b.dist {
        1
    } else if a.dist == b.dist {
        0
    } else {
        -1
    };
    if desc {
        -asc
    } else {
        asc
    }
}

/// Sorts `points` nearest first (`desc` false) or farthest first, at least the first `keep`
/// places (all when `keep` covers them).
pub(crate) fn sort(points: &mut Vec<Point>, desc: bool, keep: usize) {
    let cmp = |a: &Point, b: &Point| compare(a, b, desc);
    if keep >= points.len() {
        let sorted = merge_sort(std::mem::take(points), &cmp);
        *points = sorted;
    } else if keep > 0 {
        partial_quicksort(points, 0, &cmp, (0, keep - 1));
    }
}

/// glibc's `msort_with_tmp`: split at `n / 2`, sort both halves, merge taking from the left
/// while it compares `<= 0`.
fn merge_sort(mut items: Vec<Point>, cmp: &impl Fn(&Point, &Point) -> i32) -> Vec<Point> {
    if items.len() <= 1 {
        return items;
    }
    let right = items.split_off(items.len() / 2);
    let left = merge_sort(items, cmp);
    let right = merge_sort(right, cmp);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    while let (Some(l), Some(r)) = (left.peek(), right.peek()) {
        let next = if cmp(l, r) <= 0 {
            left.next()
        } else {
            right.next()
        };
        out.extend(next);
    }
    out.extend(left);
    out.extend(right);
    out
}

/// The index of the median of three, as `med3` picks it.
fn median3(
    v: &[Point],
    a: usize,
    b: usize,
    c: usize,
    cmp: &impl Fn(&Point, &Point) -> i32,
) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

/// Swaps `n` elements starting at `a` with `n` elements starting at `b`, pairwise
/// (`vecswap`).
fn swap_runs(v: &mut [Point], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Redis's `_pqsort` on `v[start..]` (its whole remaining length is the subarray): sorts so
/// that the places `range.0..=range.1` (absolute indexes) hold what a full sort would put
/// there, recursing only into parts that overlap that range.
fn partial_quicksort(
    v: &mut [Point],
    mut start: usize,
    cmp: &impl Fn(&Point, &Point) -> i32,
    range: (usize, usize),
) {
    let mut n = v.len() - start;
    // The subarray `[s, s + k)` matters unless the range lies wholly before or after it.
    let overlaps = |s: usize, k: usize| {
        let (l, r) = range;
        !((l < s && r < s) || (l >= s + k && r >= s + k))
    };
    loop {
        let a = start;
        if n < 7 {
            for m in a + 1..a + n {
                let mut l = m;
                while l > a && cmp(&v[l - 1], &v[l]) > 0 {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = median3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = median3(v, pm - d, pm, pm + d, cmp);
                pn = median3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = median3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        // `pc` and `pd` may step just below `a + 1`; signed indexes keep that exact.
        let (mut pc, mut pd) = ((a + n - 1) as isize, (a + n - 1) as isize);
        loop {
            while pb as isize <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c > 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb as isize <= pc {
                let c = cmp(&v[pc as usize], &v[a]);
                if c < 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb as isize > pc {
                break;
            }
            v.swap(pb, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        swap_runs(v, a, pb - r, r);
        let r = ((pd - pc) as usize).min(pn - pd as usize - 1);
        swap_runs(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && overlaps(a, r) {
            partial_quicksort(&mut v[..a + r], a, cmp, range);
        }
        let r = (pd - pc) as usize;
        if r > 1 {
            start = pn - r;
            n = r;
            if overlaps(start, n) {
                continue;
            }
        }
        return;
    }
}
