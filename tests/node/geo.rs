//! Geo commands (GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS*, GEOSEARCH*): semantics tables holding Redis's own replies (checked against `redis-server` with
//! `REDOUBT_TEST_SERVER=redis-server cargo test --test node geo`).

use crate::common::Server;

/// GEOADD's flags, GEODIST's units, GEOHASH and GEOPOS, with Redis's argument and type errors.
#[tokio::test]
async fn point_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania", ":2"),
        ("GEOADD Sicily 13.361389 38.115556 Palermo", ":0"),
        ("GEOADD Sicily CH 13.5 38.1 Palermo", ":1"),
        ("GEOADD Sicily NX 13.361389 38.115556 Palermo 12.5 37.8 Marsala", ":1"),
        ("GEOADD Sicily XX CH 13.361389 38.115556 Palermo 1 1 Nowhere", ":1"),
        ("ZCARD Sicily", ":3"),
        ("GEOADD Sicily NX XX 1 1 a", "-ERR syntax error"),
        ("GEOADD Sicily 1 1", "-ERR wrong number of arguments for 'geoadd' command"),
        ("GEOADD Sicily 181 1 a", "-ERR invalid longitude,latitude pair 181.000000,1.000000"),
        ("GEOADD Sicily 1 86 a", "-ERR invalid longitude,latitude pair 1.000000,86.000000"),
        ("GEOADD Sicily x 1 a", "-ERR value is not a valid float"),
        ("GEOADD xxkey XX 1 1 a", ":0"),
        ("EXISTS xxkey", ":0"),
        ("GEODIST Sicily Palermo Catania", "\"166274.1516\""),
        ("GEODIST Sicily Palermo Catania km", "\"166.2742\""),
        ("GEODIST Sicily Palermo Catania MI", "\"103.3182\""),
        ("GEODIST Sicily Palermo Catania ft", "\"545518.8700\""),
        ("GEODIST Sicily Palermo Nowhere", "nil"),
        ("GEODIST missing a b", "nil"),
        ("GEODIST Sicily Palermo Catania parsecs", "-ERR unsupported unit provided. please use M, KM, FT, MI"),
        ("GEOHASH Sicily Palermo Catania Nowhere", "[\"sqc8b49rny0\", \"sqdtr74hyu0\", nil]"),
        ("GEOHASH missing a b", "[nil, nil]"),
        ("GEOPOS Sicily Palermo Catania Nowhere", "[[\"13.36138933897018433\", \"38.11555639549629859\"], [\"15.08726745843887329\", \"37.50266842333162032\"], nil]"),
        ("GEOPOS missing a", "[nil]"),
        ("ZSCORE Sicily Palermo", "\"3479099956230698\""),
        ("TYPE Sicily", "+zset"),
        ("SET str x", "+OK"),
        ("GEOADD str 1 1 a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GEODIST str a b", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GEODIST str a b parsecs", "-ERR unsupported unit provided. please use M, KM, FT, MI"),
        ("GEOHASH str a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GEOPOS str a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
    ])
    .await;
}

/// Radius and box searches, their options and errors, and the STORE/STOREDIST destinations.
#[tokio::test]
async fn area_searches_and_their_stores() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.5 37.8 Marsala 14.0 37.0 Agrigento", ":4"),
        ("GEORADIUS Sicily 15 37 200 km WITHDIST ASC", "[[\"Catania\", \"56.4413\"], [\"Agrigento\", \"88.8287\"], [\"Palermo\", \"190.4424\"]]"),
        ("GEORADIUS Sicily 15 37 200 km WITHCOORD WITHDIST WITHHASH DESC", "[[\"Palermo\", \"190.4424\", :3479099956230698, [\"13.36138933897018433\", \"38.11555639549629859\"]], [\"Agrigento\", \"88.8287\", :3476101302610854, [\"14.00000184774398804\", \"37.00000026605963654\"]], [\"Catania\", \"56.4413\", :3479447370796909, [\"15.08726745843887329\", \"37.50266842333162032\"]]]"),
        ("GEORADIUS Sicily 15 37 200 km COUNT 2", "[\"Catania\", \"Agrigento\"]"),
        ("GEORADIUS Sicily 15 37 200 km COUNT 1 ANY", "[\"Agrigento\"]"),
        ("GEORADIUS Sicily 15 37 200 km ANY", "-ERR the ANY argument requires COUNT argument"),
        ("GEORADIUS Sicily 15 37 200 km COUNT 0", "-ERR COUNT must be > 0"),
        ("GEORADIUS Sicily 15 37 -1 km", "-ERR radius cannot be negative"),
        ("GEORADIUS Sicily 15 37 x km", "-ERR need numeric radius"),
        ("GEORADIUS Sicily 15 37 200 parsecs", "-ERR unsupported unit provided. please use M, KM, FT, MI"),
        ("GEORADIUS Sicily 15 37 200 km WITHDIST STORE dst", "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        ("GEORADIUS Sicily 15 37 200 km STORE dst", ":3"),
        ("ZRANGE dst 0 -1 WITHSCORES", "[\"Agrigento\", \"3476101302610854\", \"Palermo\", \"3479099956230698\", \"Catania\", \"3479447370796909\"]"),
        ("GEORADIUS Sicily 15 37 200 km ASC STOREDIST dst", ":3"),
        // Distances as scores (Redis 7.0 prints them with 17 digits, 7.2 shortest: compare
        // order and ranges).
        ("ZRANGE dst 0 -1", "[\"Catania\", \"Agrigento\", \"Palermo\"]"),
        ("ZCOUNT dst 56.441257870158 56.441257870159", ":1"),
        ("ZCOUNT dst 190.442429847757 190.442429847758", ":1"),
        ("GEORADIUS Sicily 15 37 1 km STORE dst", ":0"),
        ("EXISTS dst", ":0"),
        ("GEORADIUS_RO Sicily 15 37 200 km ASC", "[\"Catania\", \"Agrigento\", \"Palermo\"]"),
        ("GEORADIUS_RO Sicily 15 37 200 km STORE dst", "-ERR syntax error"),
        ("GEORADIUSBYMEMBER Sicily Palermo 100 km ASC WITHDIST", "[[\"Palermo\", \"0.0000\"], [\"Marsala\", \"83.2973\"]]"),
        ("GEORADIUSBYMEMBER Sicily Nowhere 100 km", "-ERR could not decode requested zset member"),
        ("GEORADIUSBYMEMBER_RO Sicily Palermo 300 km DESC", "[\"Catania\", \"Agrigento\", \"Marsala\", \"Palermo\"]"),
        ("GEORADIUSBYMEMBER missing Palermo 100 km", "[]"),
        ("GEORADIUS missing 15 37 200 km", "[]"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC", "[\"Catania\", \"Agrigento\", \"Palermo\"]"),
        ("GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 400 km DESC WITHCOORD", "[[\"Catania\", [\"15.08726745843887329\", \"37.50266842333162032\"]], [\"Agrigento\", [\"14.00000184774398804\", \"37.00000026605963654\"]], [\"Marsala\", [\"12.49999791383743286\", \"37.79999881948555895\"]], [\"Palermo\", [\"13.36138933897018433\", \"38.11555639549629859\"]]]"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 100 100 km", "[]"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 200 km", "-ERR syntax error"),
        ("GEOSEARCH Sicily BYRADIUS 200 km", "-ERR wrong number of arguments for 'geosearch' command"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37", "-ERR wrong number of arguments for 'geosearch' command"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km BYBOX 1 1 km", "-ERR syntax error"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x", "-ERR syntax error"),
        ("GEOSEARCH missing FROMLONLAT 15 37 BYRADIUS 200 km", "[]"),
        ("GEOSEARCHSTORE dst2 Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 2", ":2"),
        ("ZRANGE dst2 0 -1 WITHSCORES", "[\"Agrigento\", \"3476101302610854\", \"Catania\", \"3479447370796909\"]"),
        ("GEOSEARCHSTORE dst2 Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 2 STOREDIST", ":2"),
        ("ZRANGE dst2 0 -1", "[\"Catania\", \"Agrigento\"]"),
        ("ZCOUNT dst2 88.828700193395 88.828700193396", ":1"),
        ("GEOSEARCHSTORE dst2 Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST", "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        ("GEOSEARCHSTORE dst2 missing FROMLONLAT 15 37 BYRADIUS 200 km", ":0"),
        ("EXISTS dst2", ":0"),
        ("SET str x", "+OK"),
        ("GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 200 km", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GEOSEARCH str FROMLONLAT 15 37 BYRADIUS -1 km", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GEORADIUS str 15 37 x km", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GEOSEARCHSTORE dst3 str FROMLONLAT 15 37 BYRADIUS 200 km", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GEOSEARCHSTORE str Sicily FROMLONLAT 15 37 BYRADIUS 200 km", ":3"),
        ("TYPE str", "+zset"),
    ])
    .await;
}
