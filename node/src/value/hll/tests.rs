//! Tests of the HyperLogLog cores. Values marked "from Redis" were read from redis-server
//! 7.0.15 (its `hyperloglog.c` encodes as 7.2's does) after running the same commands.

use bytes::Bytes;

use super::*;

fn elements(prefix: &str, range: std::ops::Range<u32>) -> Vec<Bytes> {
    range.map(|i| Bytes::from(format!("{prefix}{i}"))).collect()
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn count(value: &mut Vec<u8>) -> i64 {
    match pfcount_one(Some(value)).0 {
        Reply::Int(n) => n,
        other => panic!("{other:?}"),
    }
}

/// A value after `PFADD` of `elements` in batches of 1000, as the comparison with Redis did.
fn hll_of(elements: &[Bytes], sparse_max: usize) -> Vec<u8> {
    let mut value = Vec::new();
    let mut created = true;
    for batch in elements.chunks(1000) {
        pfadd(&mut value, created, batch, sparse_max);
        created = false;
    }
    value
}

#[test]
fn small_values_are_byte_identical_to_redis() {
    // From Redis: GET after `PFADD h` (no elements), `PFADD one e0`, `PFADD three a b c`, the
    // 100 elements e0..e99, and the same keys after PFCOUNT wrote the cache.
    let cases: &[(Vec<Bytes>, &str, i64, &str)] = &[
        (
            vec![],
            "48594c4c0100000000000000000000807fff",
            0,
            "48594c4c0100000000000000000000007fff",
        ),
        (
            elements("e", 0..1),
            "48594c4c0100000000000000000000804525807ad8",
            1,
            "48594c4c0100000001000000000000004525807ad8",
        ),
        (
            vec![Bytes::from("a"), Bytes::from("b"), Bytes::from("c")],
            "48594c4c01000000000000000000008060f38050b1844bfb80425a",
            3,
            "48594c4c01000000030000000000000060f38050b1844bfb80425a",
        ),
    ];
    for (els, added, card, counted) in cases {
        let mut value = Vec::new();
        assert_eq!(
            pfadd(&mut value, true, els, DEFAULT_SPARSE_MAX_BYTES),
            (Reply::Int(1), true)
        );
        assert_eq!(hex(&value), *added);
        assert_eq!(pfcount_one(Some(&mut value)), (Reply::Int(*card), true));
        assert_eq!(hex(&value), *counted);
        // The cache is fresh now: counting again changes nothing.
        assert_eq!(pfcount_one(Some(&mut value)), (Reply::Int(*card), false));
    }
    let e100 = hll_of(&elements("e", 0..100), DEFAULT_SPARSE_MAX_BYTES);
    assert_eq!(
        hex(&e100),
        "48594c4c01000000000000000000008036843c8040a9a40e88409084406c9c048840e28041358840d380\
         411d8840898041168c419080098040e08040948041578440a280408384405d8440e1844199844081803c\
         844047840780404e80408f840984405184268441258440d38042638040a280404b8c406f80420b8c4179\
         8041478041638040668440f98c0184218811804182844062803088407984228040de8440d3884045800a\
         88420090118440c184018041138440848c1684228040a88440e180422a84410384168041178441658c41\
         4e802680058040598040ec882e88413c880380405b841b803f80409b802184412e88408f90407e804084\
         80415f8033844079844193844058902e80406a840d8039801380409a882880408c"
    );
}

/// The length and MurmurHash64A (seed 0) of a value, to compare large values with Redis's.
fn digest(value: &[u8]) -> (usize, u64) {
    (value.len(), dense::murmur64a(value, 0))
}

#[test]
fn large_values_and_counts_match_redis() {
    // From Redis: length and MurmurHash64A (seed 0) of GET after PFADD of e0..e(n-1) in
    // batches of 1000, the PFCOUNT reply, and the digest after PFCOUNT wrote the cache.
    // e1000 is still sparse; the others are dense (x0..x299 with hll-sparse-max-bytes 500).
    let cases = [
        (
            "e",
            1000,
            3000,
            (1906, 0x93d6_091b_6934_515e),
            1008,
            (1906, 0x4c9a_9f74_ec3c_e8ed),
        ),
        (
            "e",
            10_000,
            3000,
            (12304, 0x40cf_3271_be9f_7492),
            9973,
            (12304, 0xa22f_2cf1_6ed1_c08a),
        ),
        (
            "e",
            200_000,
            3000,
            (12304, 0x35e7_e412_bd33_9775),
            200_859,
            (12304, 0xa276_b844_ffc1_ac90),
        ),
        (
            "x",
            300,
            500,
            (12304, 0x7b38_c4cb_6f33_a25f),
            299,
            (12304, 0xc5cc_79c9_f9be_8976),
        ),
    ];
    for (prefix, n, max, added, card, counted) in cases {
        let mut value = hll_of(&elements(prefix, 0..n), max);
        assert_eq!(digest(&value), added, "{prefix}{n}");
        assert_eq!(count(&mut value), card, "{prefix}{n}");
        assert_eq!(digest(&value), counted, "{prefix}{n}");
    }
}

#[test]
fn merges_match_redis() {
    let max = DEFAULT_SPARSE_MAX_BYTES;
    let a = hll_of(&elements("e", 0..100), max);
    let b = hll_of(&elements("f", 0..1000), max);
    let c = hll_of(&elements("e", 0..10_000), max);
    // From Redis: PFMERGE m1 a b (new key), PFMERGE m2 b nokey (m2 = a), PFMERGE m3 c (m3 = a),
    // PFCOUNT a b c nokey.
    let merged = pfmerge(None, &[Some(&a), Some(&b)], max).unwrap();
    assert_eq!(digest(&merged), (2081, 0x969a_14b3_e3f0_6ec6));
    let merged = pfmerge(Some(&a), &[Some(&b), None], max).unwrap();
    assert_eq!(digest(&merged), (2081, 0x969a_14b3_e3f0_6ec6));
    let merged = pfmerge(Some(&a), &[Some(&c)], max).unwrap();
    assert_eq!(digest(&merged), (12304, 0x40cf_3271_be9f_7492));
    assert_eq!(
        pfcount_many(&[Some(&a), Some(&b), Some(&c), None]),
        Reply::Int(10931)
    );
    // Counting several keys changes none of them.
    assert_eq!(a, hll_of(&elements("e", 0..100), max));
}

#[test]
fn foreign_and_corrupt_strings_are_refused_as_redis_does() {
    let not_hll = Reply::error(NOT_HLL);
    let corrupt = Reply::error(CORRUPT);
    let dense_bad_len = [&b"HYLL\x00\0\0\0\0\0\0\0\0\0\0\x80"[..], &[0x7f, 0xfe]].concat();
    let bad_encoding = [&b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\x80"[..], &[0x7f, 0xff]].concat();
    for bad in [
        &b"foo"[..],
        b"HYLL",
        b"HYLM\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff",
        &dense_bad_len,
        &bad_encoding,
    ] {
        assert_eq!(
            pfcount_one(Some(&mut bad.to_vec())),
            (not_hll.clone(), false)
        );
        assert_eq!(pfadd(&mut bad.to_vec(), false, &[], 3000).0, not_hll);
        assert_eq!(pfcount_many(&[None, Some(bad)]), not_hll);
        assert_eq!(pfmerge(None, &[Some(bad)], 3000), Err(not_hll.clone()));
    }
    // A sparse code covering 16383 registers: Redis adds "a" (its register is covered) but
    // refuses to count it.
    let mut short = [&b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80"[..], &[0x7f, 0xfe]].concat();
    assert_eq!(
        pfadd(&mut short, false, &[Bytes::from("a")], 3000),
        (Reply::Int(1), true)
    );
    assert_eq!(pfcount_one(Some(&mut short)).0, corrupt);
    assert_eq!(pfcount_many(&[Some(&short)]), corrupt);
    assert_eq!(pfmerge(None, &[Some(&short)], 3000), Err(corrupt.clone()));
    assert_eq!(pfdebug(b"todense", Some(&mut short)).0, corrupt);
    assert_eq!(pfcount_one(None), (Reply::Int(0), false));
}

#[test]
fn pfdebug_matches_redis() {
    let mut value = hll_of(
        &[Bytes::from("a"), Bytes::from("b"), Bytes::from("c")],
        3000,
    );
    // From Redis.
    let decoded = Reply::bulk("Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603");
    assert_eq!(pfdebug(b"DECODE", Some(&mut value)), (decoded, false));
    assert_eq!(
        pfdebug(b"encoding", Some(&mut value)),
        (Reply::simple("sparse"), false)
    );
    let unknown = Reply::error("ERR Unknown PFDEBUG subcommand 'bogus'");
    assert_eq!(pfdebug(b"bogus", Some(&mut value)), (unknown, false));
    let missing = Reply::error("ERR The specified key does not exist");
    assert_eq!(pfdebug(b"decode", None), (missing, false));
    assert_eq!(pfdebug(b"todense", Some(&mut value)), (Reply::Int(1), true));
    assert_eq!(value.len(), DENSE_LEN);
    assert_eq!(
        pfdebug(b"todense", Some(&mut value)),
        (Reply::Int(0), false)
    );
    let not_sparse = Reply::error("ERR HLL encoding is not sparse");
    assert_eq!(pfdebug(b"decode", Some(&mut value)), (not_sparse, false));
    let Reply::Array(regs) = pfdebug(b"getreg", Some(&mut value)).0 else {
        panic!("registers")
    };
    let nonzero: Vec<(usize, &Reply)> = regs
        .iter()
        .enumerate()
        .filter(|(_, r)| **r != Reply::Int(0))
        .collect();
    // The registers DECODE named: 8436 -> 1, 12711 -> 2, 15780 -> 1.
    assert_eq!(
        nonzero,
        [
            (8436, &Reply::Int(1)),
            (12711, &Reply::Int(2)),
            (15780, &Reply::Int(1))
        ]
    );
    assert_eq!(count(&mut value), 3);
}

#[test]
fn registers_pack_without_touching_neighbours() {
    let mut regs = vec![0u8; DENSE_BYTES];
    for i in 0..REGISTERS {
        dense::set(&mut regs, i, (i * 7 % 64) as u8);
    }
    for i in 0..REGISTERS {
        assert_eq!(dense::get(&regs, i), (i * 7 % 64) as u8, "register {i}");
    }
    dense::set(&mut regs, 1, 0);
    assert_eq!((dense::get(&regs, 0), dense::get(&regs, 2)), (0, 14));
    let mut histo = [0u32; 64];
    dense::histogram(&regs, &mut histo);
    assert_eq!(histo.iter().sum::<u32>(), REGISTERS as u32);
    assert_eq!(histo[0], 257);
}

#[test]
fn a_register_above_32_or_a_full_code_turns_the_value_dense() {
    let mut value = new_hll();
    assert_eq!(sparse::raise(&mut value, 5, 32, 3000), Ok(true));
    assert_eq!(encoding(&value), Encoding::Sparse);
    assert_eq!(sparse::raise(&mut value, 5, 33, 3000), Ok(true));
    assert_eq!(encoding(&value), Encoding::Dense);
    assert_eq!(dense::get(&value[HEADER..], 5), 33);
    // The empty code is 2 bytes; splitting its XZERO needs 3 more, past a 20-byte limit.
    let mut value = new_hll();
    assert_eq!(sparse::raise(&mut value, 100, 1, 20), Ok(true));
    assert_eq!(
        (encoding(&value), value.len()),
        (Encoding::Dense, DENSE_LEN)
    );
}

#[test]
fn the_self_test_passes() {
    assert_eq!(selftest(3, 100_000, DEFAULT_SPARSE_MAX_BYTES), Reply::ok());
}
