//! Standbys end byte-identical to their primary after bitmap, HyperLogLog and geo writes,
//! including the writes Redis propagates from a read (`PFCOUNT` refreshing its cached
//! cardinality) and the `STORE` forms of the geo searches.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::Reply;
use crate::support::{assert_same, caught_up, dump, primary, standby_of};

/// Appends one random write (or cache-refreshing read) on bitmaps, HyperLogLogs and geo sets.
fn random_write(rng: &mut StdRng, pipe: &mut redis::Pipeline) {
    let n = rng.gen_range(0..40);
    let v: u32 = rng.gen_range(0..100_000);
    match rng.gen_range(0..12) {
        0 | 1 => pipe
            .cmd("PFADD")
            .arg(format!("h:{n}"))
            .arg(format!("e{v}"))
            .arg(format!("e{}", v / 3)),
        2 => pipe.cmd("PFCOUNT").arg(format!("h:{n}")),
        3 => pipe
            .cmd("PFMERGE")
            .arg(format!("h:{}", n / 2))
            .arg(format!("h:{n}"))
            .arg(format!("h:{}", n + 1)),
        4 => pipe
            .cmd("SETBIT")
            .arg(format!("b:{n}"))
            .arg(v % 4096)
            .arg(v % 2),
        5 => pipe
            .cmd("BITOP")
            .arg(["AND", "OR", "XOR"][v as usize % 3])
            .arg(format!("b:{}", n / 2))
            .arg(format!("b:{n}"))
            .arg(format!("b:{}", n + 1)),
        6 => pipe
            .cmd("BITFIELD")
            .arg(format!("b:{n}"))
            .arg("OVERFLOW")
            .arg("SAT")
            .arg("INCRBY")
            .arg("i8")
            .arg(v % 512)
            .arg(v % 300),
        7 | 8 => pipe
            .cmd("GEOADD")
            .arg(format!("g:{}", n % 8))
            .arg(f64::from(v % 3600) / 10.0 - 180.0)
            .arg(f64::from(v % 1700) / 10.0 - 85.0)
            .arg(format!("m{}", v % 500)),
        9 => pipe
            .cmd("GEOSEARCHSTORE")
            .arg(format!("g:s{n}"))
            .arg(format!("g:{}", n % 8))
            .arg("FROMLONLAT")
            .arg(f64::from(v % 360) - 180.0)
            .arg(0)
            .arg("BYRADIUS")
            .arg(3000)
            .arg("km")
            .arg("STOREDIST"),
        10 => pipe
            .cmd("GEORADIUS")
            .arg(format!("g:{}", n % 8))
            .arg(f64::from(v % 360) - 180.0)
            .arg(10)
            .arg(5000)
            .arg("km")
            .arg("COUNT")
            .arg(5)
            .arg("STORE")
            .arg(format!("g:r{n}")),
        _ => pipe
            .cmd("PFCOUNT")
            .arg(format!("h:{n}"))
            .arg(format!("h:{}", n + 2)),
    };
}

#[tokio::test]
async fn standby_holds_the_same_hyperloglog_bytes_and_geo_sets() {
    let primary = primary(&[]);
    let standby = standby_of(&primary, &[]);
    let mut conn = primary.conn().await;
    let mut rng = StdRng::seed_from_u64(13);
    for _ in 0..20 {
        let mut pipe = redis::pipe();
        for _ in 0..500 {
            random_write(&mut rng, &mut pipe);
        }
        let _: Vec<redis::Value> = pipe.query_async(&mut conn).await.unwrap();
    }
    // A fresh count leaves the cache valid in the primary's value: the standby must have it.
    let mut raw = primary.raw().await;
    assert_eq!(raw.q("PFADD fresh a b c").await, Reply::Int(1));
    assert_eq!(raw.q("PFCOUNT fresh").await, Reply::Int(3));
    caught_up(&primary, &[&standby]).await;
    let expected = dump(&primary, 1).await;
    let kinds = |prefix: &str| {
        expected
            .keys()
            .filter(|(_, k)| k.starts_with(prefix.as_bytes()))
            .count()
    };
    assert!(
        kinds("h:") > 30 && kinds("b:") > 30 && kinds("g:") > 20,
        "{}",
        expected.len()
    );
    assert_same(&expected, &dump(&standby, 1).await, "standby");
    let value = raw.q("GET fresh").await.bytes();
    assert_eq!(value[15] & 0x80, 0, "the cached cardinality is fresh");
    let mut standby_raw = standby.raw().await;
    assert_eq!(standby_raw.q("GET fresh").await.bytes(), value);
}
