#!/bin/sh
# Regenerates redis-7.0.rdb: a redis-server 7.0 snapshot of the dataset that
# `rdb::tests::fixture_dataset` describes (keep the two in step).
# Usage: sh make-fixture.sh   (needs redis-server and redis-cli on PATH)
set -e
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
port=${PORT:-26399}
redis-server --port "$port" --dir "$dir" --dbfilename dump.rdb --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/pid" --logfile "$dir/log"
cli() { redis-cli -p "$port" "$@" >/dev/null; }
sleep 0.3
cli flushall
cli set s:int 12345
cli set s:neg -7
cli set s:big 9223372036854775807
cli set s:long "$(printf 'abcdefghij%.0s' $(seq 1 20))"
cli set s:plain hello
cli set s:exp expiring
cli pexpireat s:exp 4102444800000
cli rpush l:small 1 2 3 x -100000 hello
i=0; args=""
while [ $i -lt 200 ]; do args="$args $i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done
cli rpush l:big $args
cli sadd set:int 1 2 3 -5 1000000
cli sadd set:str a b c
i=0; args=""
while [ $i -lt 600 ]; do args="$args $i"; i=$((i+1)); done
cli sadd set:big $args
cli zadd z:small 1 a 2.5 b -inf c
i=0; args=""
while [ $i -lt 200 ]; do args="$args $i.5 m$i"; i=$((i+1)); done
cli zadd z:big $args
cli hset h:small f1 v1 f2 2
i=0; args=""
while [ $i -lt 600 ]; do args="$args f$i v$i"; i=$((i+1)); done
cli hset h:big $args
cli -n 3 set other x
cli save
redis-cli -p "$port" shutdown nosave >/dev/null || true
cp "$dir/dump.rdb" "$here/redis-7.0.rdb"
rm -rf "$dir"
