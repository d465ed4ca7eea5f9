#!/usr/bin/env bash
# The one benchmark command: builds the release binary, measures Redoubt beside its peers on this
# machine, and prints one Markdown table (progress goes to stderr, the table to stdout).
#
#   bench/all.sh                      # defaults below; a few minutes on a quiet machine
#   bench/all.sh > table.md
#   RUNS=5 REQUESTS=500000 bench/all.sh
#   RUNS=1 REQUESTS=2000 KEYS=10000 IDLE_CLIENTS=500 bench/all.sh   # smoke run: proves the script, figures mean nothing
#   REDOUBT_BIN=target/debug/redoubt FAILOVER=0 RUNS=1 REQUESTS=2000 KEYS=10000 bench/all.sh  # smoke run without a release build
#
# Rows (each with the redoubt figure, the peer's figure and redoubt/peer):
#   - node vs redis-server: redis-benchmark set/get/incr/mset and the collection writes
#     lpush/rpush/lpop/rpop/sadd/hset/spop/zadd at each pipeline depth (ops/s);
#   - proxy vs direct and proxy vs twemproxy (nutcracker): set/get/mset through a one-group proxy,
#     straight to that group's node, and through twemproxy in front of the same node (ops/s). The
#     node and the proxy run their default worker threads (one below 4 cores, as twemproxy and
#     redis-server have one; else one per core), or PROXY_THREADS for the proxy when set;
#   - memory per 1M keys by data type: `redoubt node` vs redis-server, used_memory and RSS growth
#     after loading, with redis-cli --pipe, KEYS small strings (`key:N` -> `value:N`), hashes of
#     10 fields, sets of 10 integers, sorted sets of 10 members and lists of 10 items, and
#     KEYS/1000 hashes, sets, sorted sets and lists of 1,000 elements; scaled to 1M keys;
#   - memory per idle client connection: RSS growth of the proxy vs twemproxy while IDLE_CLIENTS
#     connections sit open;
#   - failover outage and lost writes (async and synchronous replication), from bench/failover.sh
#     when it exists: that script prints rows of this table (lines starting with `|`, same five
#     columns); any other output it prints is shown below the table.
# Throughput and memory are measured RUNS times, the targets taking turns in a rotating order
# within each run, and each row shows the median. Missing peers are installed with apt-get when
# possible; otherwise their rows say why they are absent.
#
# Environment: RUNS (3), REQUESTS per redis-benchmark test (200000), CLIENTS (50), PIPELINES ("1 16"),
# KEYS (1000000), IDLE_CLIENTS (10000), PROXY_THREADS (the proxy's default), REDOUBT_BIN (skip the build and use this binary),
# FAILOVER (1; 0 skips bench/failover.sh, which builds and measures the release binary).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-"1 16"}
KEYS=${KEYS:-1000000}
IDLE_CLIENTS=${IDLE_CLIENTS:-10000}
PROXY_THREADS=${PROXY_THREADS:-}

log() { echo "bench: $*" >&2; }

# --- peers -----------------------------------------------------------------------------------

apt_updated=""
# Makes sure a command exists, installing its Debian package when possible.
ensure() {
  local cmd=$1 package=$2
  command -v "$cmd" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing $package"
    if [ -z "$apt_updated" ]; then
      apt-get update -qq >/dev/null 2>&1 || true
      apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null 2>&1 || true
  fi
  command -v "$cmd" >/dev/null
}

command -v python3 >/dev/null || { echo "bench: python3 is required" >&2; exit 1; }
if ! ensure redis-benchmark redis-tools || ! ensure redis-cli redis-tools; then
  echo "bench: redis-benchmark and redis-cli are required (Debian redis-tools)" >&2
  exit 1
fi
redis_absent=""
ensure redis-server redis-server || redis_absent="absent: redis-server not installed and apt-get could not install it"
twem_absent=""
ensure nutcracker nutcracker || twem_absent="absent: nutcracker (twemproxy) not installed and apt-get could not install it"

if [ -n "${REDOUBT_BIN:-}" ]; then
  BIN=$REDOUBT_BIN
else
  log "building release"
  cargo build --release --quiet --bin redoubt
  BIN=${CARGO_TARGET_DIR:-target}/release/redoubt
fi

# Idle connections need a file descriptor each, in the client and in the proxy.
want_fds=$((IDLE_CLIENTS + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
  ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

# --- processes -------------------------------------------------------------------------------

WORK=$(mktemp -d)
leaders=()
# Starts a process as the leader of its own process group; sets STARTED to its pid.
start() {
  local name=$1
  shift
  setsid "$@" >"$WORK/$name.log" 2>&1 &
  STARTED=$!
  leaders+=("$STARTED")
}
# Stops one started process (and its group) and forgets it.
stop() {
  local pid=$1 n=0 kept=() p
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 50 ]; do
    sleep 0.1
    n=$((n + 1))
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${leaders[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  leaders=("${kept[@]}")
}
cleanup() {
  local pid
  for pid in "${leaders[@]}"; do stop "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {
  local _
  for _ in $(seq 300); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "bench: nothing answers on port $1" >&2
  tail -n 20 "$WORK"/*.log >&2 || true
  exit 1
}

# Starts a server of the given kind on a free port; sets PORT and STARTED.
start_server() {
  PORT=$(free_port)
  # Its own empty directory and no snapshots: nothing is saved on stop nor loaded at start.
  local dir="$WORK/data-$PORT"
  mkdir -p "$dir"
  case $1 in
    redoubt) start "redoubt-$PORT" "$BIN" node --port "$PORT" --dir "$dir" --save '' --appendonly no ;;
    redis) start "redis-$PORT" redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no ;;
  esac
  wait_ready "$PORT"
}
# Starts a proxy of the given kind in front of one node; sets PORT and STARTED.
start_proxy() {
  local kind=$1 node=$2
  PORT=$(free_port)
  case $kind in
    proxy)
      printf 'listen = "127.0.0.1:%s"\nmaxclients = 1000000\n\n[[groups]]\nid = "a"\nprimary = "127.0.0.1:%s"\n' "$PORT" "$node" >"$WORK/proxy-$PORT.toml"
      start "proxy-$PORT" "$BIN" proxy --config "$WORK/proxy-$PORT.toml" ${PROXY_THREADS:+--threads "$PROXY_THREADS"}
      ;;
    twemproxy)
      printf 'alpha:\n  listen: 127.0.0.1:%s\n  hash: fnv1a_64\n  distribution: ketama\n  redis: true\n  server_connections: 1\n  servers:\n   - 127.0.0.1:%s:1\n' \
        "$PORT" "$node" >"$WORK/twemproxy-$PORT.yml"
      start "twemproxy-$PORT" nutcracker -c "$WORK/twemproxy-$PORT.yml" -s "$(free_port)" -a 127.0.0.1
      ;;
  esac
  wait_ready "$PORT"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
info_field() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'; }

# --- figures ---------------------------------------------------------------------------------

declare -A samples=()
add_sample() { samples[$1]="${samples[$1]:-} $2"; }
median() {
  tr ' ' '\n' <<<"${samples[$1]:-}" | awk 'NF' | sort -g \
    | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# Rotates a word list by n places: the targets take turns going first.
rotate() {
  local n=$1
  shift
  local words=("$@")
  local i
  for ((i = 0; i < ${#words[@]}; i++)); do printf '%s ' "${words[(i + n) % ${#words[@]}]}"; done
}

# Prints "test ops_per_sec" lines for one target and pipeline depth.
benchmark() {
  redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -r 100000 -P "$2" -t "$3" --csv 2>/dev/null \
    | tail -n +2 | tr -d '"' | awk -F, '{ split($1, w, " "); print tolower(w[1]), $2 }'
}

# Throughput: one redoubt node (also the proxies' backend), redis-server, the proxy and twemproxy.
start_server redoubt
NODE=$PORT
targets=(redoubt)
declare -A port_of=([redoubt]=$NODE)
node_tests="set,get,incr,mset,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd"
proxy_tests="set,get,mset"
declare -A tests_of=([redoubt]=$node_tests [redis]=$node_tests [proxy]=$proxy_tests [twemproxy]=$proxy_tests)
if [ -z "$redis_absent" ]; then
  start_server redis
  port_of[redis]=$PORT
  targets+=(redis)
fi
start_proxy proxy "$NODE"
port_of[proxy]=$PORT
targets+=(proxy)
if [ -z "$twem_absent" ]; then
  start_proxy twemproxy "$NODE"
  port_of[twemproxy]=$PORT
  targets+=(twemproxy)
fi

for ((run = 0; run < RUNS; run++)); do
  for p in $PIPELINES; do
    for target in $(rotate "$run" "${targets[@]}"); do
      log "run $((run + 1))/$RUNS pipeline $p: $target"
      while read -r test ops; do
        [ -n "$test" ] && add_sample "$target/$test/$p" "$ops"
      done < <(benchmark "${port_of[$target]}" "$p" "${tests_of[$target]}")
    done
  done
done
while [ "${#leaders[@]}" -gt 0 ]; do stop "${leaders[-1]}"; done

# Memory per key by data type: fresh servers, the load written as RESP and fed through
# redis-cli --pipe. Small kinds use KEYS keys, large ones (1,000 elements each) KEYS/1000 keys
# of 10 commands of 100 elements; every figure is scaled to 1M keys.
large_keys=$((KEYS / 1000 > 0 ? KEYS / 1000 : 1))
# Writes the load of one kind to $WORK/load.resp; prints "keys commands".
write_load() {
  local kind=$1 n=$KEYS
  case $kind in large-*) n=$large_keys ;; esac
  awk -v n="$n" -v kind="$kind" '
    function cmd(args, count,   i, out) {
      out = "*" count "\r\n"
      for (i = 1; i <= count; i++) out = out "$" length(args[i]) "\r\n" args[i] "\r\n"
      printf "%s", out
      commands++
    }
    BEGIN {
      for (i = 0; i < n; i++) {
        delete a
        if (kind == "strings") {
          a[1] = "SET"; a[2] = "key:" i; a[3] = "value:" i; cmd(a, 3)
        } else if (kind == "hash10") {
          a[1] = "HSET"; a[2] = "hash:" i; c = 2
          for (j = 0; j < 10; j++) { a[++c] = "field:" j; a[++c] = "value:" j }
          cmd(a, c)
        } else if (kind == "set10") {
          a[1] = "SADD"; a[2] = "set:" i; c = 2
          for (j = 0; j < 10; j++) a[++c] = i * 10 + j
          cmd(a, c)
        } else if (kind == "zset10") {
          a[1] = "ZADD"; a[2] = "zset:" i; c = 2
          for (j = 0; j < 10; j++) { a[++c] = j; a[++c] = "member:" j }
          cmd(a, c)
        } else if (kind == "list10") {
          a[1] = "RPUSH"; a[2] = "list:" i; c = 2
          for (j = 0; j < 10; j++) a[++c] = "item:" j
          cmd(a, c)
        } else {
          for (b = 0; b < 10; b++) {
            delete a; c = 2
            if (kind == "large-hash") { a[1] = "HSET"; a[2] = "bighash:" i; for (j = b * 100; j < b * 100 + 100; j++) { a[++c] = "field:" j; a[++c] = "value:" j } }
            if (kind == "large-set") { a[1] = "SADD"; a[2] = "bigset:" i; for (j = b * 100; j < b * 100 + 100; j++) a[++c] = "member:" j }
            if (kind == "large-zset") { a[1] = "ZADD"; a[2] = "bigzset:" i; for (j = b * 100; j < b * 100 + 100; j++) { a[++c] = j; a[++c] = "member:" j } }
            if (kind == "large-list") { a[1] = "RPUSH"; a[2] = "biglist:" i; for (j = b * 100; j < b * 100 + 100; j++) a[++c] = "item:" j }
            cmd(a, c)
          }
        }
      }
      print n, commands > "/dev/stderr"
    }' 2>"$WORK/load.count" >"$WORK/load.resp"
  cat "$WORK/load.count"
}
load_kinds=(strings hash10 set10 zset10 list10 large-hash large-set large-zset large-list)
mem_kinds=(redoubt)
[ -z "$redis_absent" ] && mem_kinds+=(redis)
for load in "${load_kinds[@]}"; do
  read -r nkeys ncommands < <(write_load "$load")
  for ((run = 0; run < RUNS; run++)); do
    for kind in $(rotate "$run" "${mem_kinds[@]}"); do
      log "run $((run + 1))/$RUNS memory of $nkeys keys ($load): $kind"
      start_server "$kind"
      pid=$STARTED
      sleep 0.5
      used0=$(info_field "$PORT" used_memory)
      rss0=$(rss_kb "$pid")
      out=$(redis-cli -p "$PORT" --pipe <"$WORK/load.resp" 2>&1 || true)
      if grep -q "errors: 0, replies: $ncommands\$" <<<"$out" && [ "$(redis-cli -p "$PORT" dbsize)" = "$nkeys" ]; then
        sleep 1
        used1=$(info_field "$PORT" used_memory)
        rss1=$(rss_kb "$pid")
        add_sample "mem/$load/$kind/used" "$(awk -v a="$used0" -v b="$used1" -v n="$nkeys" 'BEGIN { print (b - a) * 1000000 / n / 1048576 }')"
        add_sample "mem/$load/$kind/rss" "$(awk -v a="$rss0" -v b="$rss1" -v n="$nkeys" 'BEGIN { print (b - a) * 1024 * 1000000 / n / 1048576 }')"
      else
        log "$kind: $load insertion failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
      fi
      stop "$pid"
    done
  done
done
rm -f "$WORK/load.resp"

# Memory per idle client connection: fresh proxy and twemproxy in front of one node.
idle_kb() {
  python3 - "$1" "$2" "$IDLE_CLIENTS" <<'PY'
import socket, sys, time
port, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def rss_kb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
before = rss_kb()
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
# One round trip on a sample of them proves they are served, not just queued (multibulk:
# twemproxy does not take inline commands).
for s in conns[:: max(1, n // 100)]:
    s.sendall(b"*1\r\n$4\r\nPING\r\n")
    assert s.recv(16) == b"+PONG\r\n"
time.sleep(1)
print((rss_kb() - before) * 1024 / n)
PY
}
start_server redoubt
NODE=$PORT
idle_kinds=(proxy)
[ -z "$twem_absent" ] && idle_kinds+=(twemproxy)
for ((run = 0; run < RUNS; run++)); do
  for kind in $(rotate "$run" "${idle_kinds[@]}"); do
    log "run $((run + 1))/$RUNS $IDLE_CLIENTS idle connections: $kind"
    start_proxy "$kind" "$NODE"
    pid=$STARTED
    if bytes=$(idle_kb "$PORT" "$pid" 2>"$WORK/idle.err"); then
      add_sample "idle/$kind" "$bytes"
    else
      log "$kind: idle connections failed: $(tail -n 1 "$WORK/idle.err")"
    fi
    stop "$pid"
  done
done
while [ "${#leaders[@]}" -gt 0 ]; do stop "${leaders[-1]}"; done

# Failover: rows from bench/failover.sh when it exists.
failover_rows=()
failover_extra=""
if [ "${FAILOVER:-1}" = 0 ]; then
  for mode in "async replication" "synchronous replication (min-replicas-to-ack 1)"; do
    failover_rows+=("| failover outage, $mode (ms) | absent: skipped (FAILOVER=0) | | | |")
    failover_rows+=("| lost acknowledged writes, $mode | absent: skipped (FAILOVER=0) | | | |")
  done
elif [ -f bench/failover.sh ]; then
  log "running bench/failover.sh"
  failover_rc=0
  failover_out=$(REDOUBT_BIN=$BIN RUNS=$RUNS bash bench/failover.sh 2>"$WORK/failover.err") || failover_rc=$?
  while IFS= read -r line; do failover_rows+=("$line"); done < <(grep '^|' <<<"$failover_out" | grep -Ev '^\| *-+ *\||^\| *measurement *\|' || true)
  failover_extra=$(grep -v '^|' <<<"$failover_out" || true)
  if [ "$failover_rc" -ne 0 ]; then
    why=$(tail -n 1 "$WORK/failover.err")
    failover_rows+=("| failover | absent: bench/failover.sh failed (exit $failover_rc${why:+: $why}) | | | |")
  elif [ ${#failover_rows[@]} -eq 0 ]; then
    failover_rows+=("| failover | see the output of bench/failover.sh below | | | |")
  fi
else
  for mode in "async replication" "synchronous replication (min-replicas-to-ack 1)"; do
    failover_rows+=("| failover outage, $mode (ms) | absent: bench/failover.sh not present | | | |")
    failover_rows+=("| lost acknowledged writes, $mode | absent: bench/failover.sh not present | | | |")
  done
fi

# --- the table -------------------------------------------------------------------------------

fmt() { awk -v x="$1" -v d="$2" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.*f", d, x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
row() {
  # label, redoubt figure, peer figure or "absent: why", decimals, note
  local label=$1 mine=$2 peer=$3 decimals=$4 note=$5
  if [[ $peer == absent:* ]]; then
    printf '| %s | %s | %s | - | %s |\n' "$label" "$(fmt "$mine" "$decimals")" "$peer" "$note"
  else
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$(fmt "$mine" "$decimals")" "$(fmt "$peer" "$decimals")" "$(ratio "$mine" "$peer")" "$note"
  fi
}
peer_or_absent() { if [ -n "$2" ]; then echo "$2"; else median "$1"; fi; }

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || rev="$rev (with local changes)"
echo "# Redoubt benchmarks"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); redoubt $rev"
echo "- machine: $(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- peers: $(redis-server --version 2>/dev/null | awk '{ print $1, $2, $3 }' || true)${redis_absent:+$redis_absent}; $(nutcracker --version 2>&1 | awk '/nutcracker-/ { print $3 }' || true)${twem_absent:+$twem_absent}"
echo "- settings: RUNS=$RUNS (median shown), redis-benchmark -c $CLIENTS -n $REQUESTS -r 100000, pipelines $PIPELINES; KEYS=$KEYS; IDLE_CLIENTS=$IDLE_CLIENTS"
echo
echo "| measurement | redoubt | peer | ratio | notes |"
echo "|---|---:|---:|---:|---|"
for p in $PIPELINES; do
  for t in ${node_tests//,/ }; do
    row "node vs redis-server: ${t^^} pipeline $p (ops/s)" "$(median "redoubt/$t/$p")" "$(peer_or_absent "redis/$t/$p" "$redis_absent")" 0 "higher is better"
  done
done
for p in $PIPELINES; do
  for t in set get mset; do
    row "proxy vs direct to the node: ${t^^} pipeline $p (ops/s)" "$(median "proxy/$t/$p")" "$(median "redoubt/$t/$p")" 0 "one group, ${PROXY_THREADS:-default} worker(s); higher is better"
    row "proxy vs twemproxy: ${t^^} pipeline $p (ops/s)" "$(median "proxy/$t/$p")" "$(peer_or_absent "twemproxy/$t/$p" "$twem_absent")" 0 "same node behind both, ${PROXY_THREADS:-default} worker(s); higher is better"
  done
done
declare -A load_label=(
  [strings]="small strings" [hash10]="hashes of 10 fields" [set10]="sets of 10 integers"
  [zset10]="sorted sets of 10 members" [list10]="lists of 10 items"
  [large-hash]="hashes of 1,000 fields" [large-set]="sets of 1,000 members"
  [large-zset]="sorted sets of 1,000 members" [large-list]="lists of 1,000 items"
)
for load in "${load_kinds[@]}"; do
  n=$KEYS
  [[ $load == large-* ]] && n=$large_keys
  for figure in used rss; do
    what="used_memory"
    [ "$figure" = rss ] && what="RSS growth"
    row "memory per 1M keys, ${load_label[$load]}, $what (MB)" "$(median "mem/$load/redoubt/$figure")" "$(peer_or_absent "mem/$load/redis/$figure" "$redis_absent")" 1 "redoubt node vs redis-server, $n keys scaled; lower is better"
  done
done
row "memory per idle client connection (bytes of RSS)" "$(median idle/proxy)" "$(peer_or_absent idle/twemproxy "$twem_absent")" 0 "proxy vs twemproxy, $IDLE_CLIENTS connections; lower is better"
printf '%s\n' "${failover_rows[@]}"
if [ -n "$failover_extra" ]; then
  echo
  echo "Output of bench/failover.sh:"
  echo
  echo '```'
  echo "$failover_extra"
  echo '```'
fi
