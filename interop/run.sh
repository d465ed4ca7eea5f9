#!/usr/bin/env bash
# Interop suite: real Redis clients against a local Redoubt deployment (a proxy in front of groups).
#
#   interop/run.sh                          # builds the release binary, starts a deployment, runs the checks
#   REDOUBT_PROFILE=debug interop/run.sh    # use the debug binary instead (what `cargo test` built)
#   REDOUBT_BIN=path/to/redoubt interop/run.sh
#   interop/run.sh --redis                  # the same checks against a plain redis-server, to confirm
#                                           # that every expectation is Redis's own
#
# The deployment is started on free ports on 127.0.0.1: `redoubt up --port P` when `redoubt up`
# starts a proxy (its --help mentions --groups), else two nodes and a proxy with two groups. Every
# process started here is stopped on exit.
#
# Checks: a scripted redis-cli session (interop/session.redis against interop/session.expected, and
# interop/session-resp3.* with `redis-cli -3`), `redis-cli --pipe` mass insertion, `redis-cli --scan`,
# a redis-benchmark smoke run, and interop/redis_py_check.py (redis-py, RESP2 and RESP3), once through
# the deployment and once against one of its nodes directly with transactions and pub/sub enabled,
# and interop/redis_py_scripts.py (redis-py's Lock and register_script) through the deployment, and
# interop/queues_check.py (an RQ worker on several queues, kombu direct queues and a fanout exchange).
# Needs redis-cli and redis-benchmark (Debian: redis-tools), redis-py, RQ and kombu (PyPI: redis, rq,
# kombu).
#
# Environment: PIPE_KEYS (default 100000), BENCH_REQUESTS (default 20000).
set -euo pipefail

cd "$(dirname "$0")/.."
PIPE_KEYS=${PIPE_KEYS:-100000}
BENCH_REQUESTS=${BENCH_REQUESTS:-20000}
PROFILE=${REDOUBT_PROFILE:-release}
AGAINST=redoubt
if [ "${1:-}" = "--redis" ]; then
  AGAINST=redis-server
elif [ $# -gt 0 ]; then
  echo "usage: interop/run.sh [--redis]" >&2
  exit 2
fi

missing=()
command -v redis-cli >/dev/null || missing+=("redis-cli (Debian redis-tools)")
command -v redis-benchmark >/dev/null || missing+=("redis-benchmark (Debian redis-tools)")
python3 -c 'import redis' 2>/dev/null || missing+=("redis-py (pip install redis)")
python3 -c 'import rq' 2>/dev/null || missing+=("RQ (pip install rq)")
python3 -c 'import kombu' 2>/dev/null || missing+=("kombu (pip install kombu)")
if [ "$AGAINST" = redis-server ]; then
  command -v redis-server >/dev/null || missing+=("redis-server (Debian redis-server)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf 'interop: missing %s\n' "${missing[@]}" >&2
  exit 2
fi

WORK=$(mktemp -d)
leaders=()

# Each process is started as the leader of its own process group, so that whatever it starts
# can be stopped with it.
start() {
  local log=$1
  shift
  setsid "$@" >"$WORK/$log.log" 2>&1 &
  leaders+=($!)
}

cleanup() {
  local pid waited
  for pid in "${leaders[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${leaders[@]}"; do
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 50 ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The first of COUNT consecutive free ports (`redoubt up` gives its nodes the ports after the proxy's).
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 32000)
    socks = []
    try:
        for port in range(base, base + count):
            s = socket.socket()
            s.bind(("127.0.0.1", port))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free port range")
PY
}

show_logs() {
  local f
  for f in "$WORK"/*.log; do
    [ -e "$f" ] || continue
    echo "--- $(basename "$f")" >&2
    tail -n 20 "$f" >&2
  done
}

# Waits until PING answers and DBSIZE (which the proxy fans out to every group) returns a number.
wait_ready() {
  local port=$1 _
  for _ in $(seq 300); do
    if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] \
      && redis-cli -p "$port" dbsize 2>/dev/null | grep -Eq '^[0-9]+$'; then
      return 0
    fi
    sleep 0.1
  done
  echo "interop: nothing ready on port $port after 30 s" >&2
  show_logs
  exit 1
}

if [ "$AGAINST" = redis-server ]; then
  PORT=$(free_port)
  start redis-server redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no
  deployment="redis-server on 127.0.0.1:$PORT"
  PY_FLAGS=(--multi supported --pubsub supported --cluster skip)
  SCRIPT_PORT=$PORT
else
  if [ -n "${REDOUBT_BIN:-}" ]; then
    BIN=$REDOUBT_BIN
  else
    if [ "$PROFILE" = release ]; then
      cargo build --release --quiet --bin redoubt
    else
      cargo build --quiet --bin redoubt
    fi
    BIN=${CARGO_TARGET_DIR:-target}/$PROFILE/redoubt
  fi
  if "$BIN" up --help 2>/dev/null | grep -q -- '--groups'; then
    PORT=$(free_ports 16)
    start up "$BIN" up --port "$PORT"
    deployment="redoubt up --port $PORT"
    NODE_PORT=$((PORT + 1))
    # Its two groups' nodes (a primary and a standby each) take the ports after the proxy's.
    NODE_PORTS="$((PORT + 1))-$((PORT + 4))"
    SCRIPT_PORT=$PORT
  else
    # `redoubt up` does not start a proxy yet: two nodes, each the primary of one group.
    PORT=$(free_port)
    n1=$(free_port)
    n2=$(free_port)
    start node1 "$BIN" node --port "$n1"
    start node2 "$BIN" node --port "$n2"
    cat >"$WORK/proxy.toml" <<TOML
listen = "127.0.0.1:$PORT"

[[groups]]
id = "a"
primary = "127.0.0.1:$n1"

[[groups]]
id = "b"
primary = "127.0.0.1:$n2"
TOML
    wait_ready "$n1"
    wait_ready "$n2"
    start proxy "$BIN" proxy --config "$WORK/proxy.toml"
    deployment="redoubt proxy on 127.0.0.1:$PORT, groups a (node $n1) and b (node $n2)"
    NODE_PORT=$n1
    SCRIPT_PORT=$PORT
  fi
  PY_FLAGS=(--multi supported --pubsub supported)
fi
wait_ready "$PORT"
echo "interop: against $deployment"

passed=0
failed=0
ok() {
  passed=$((passed + 1))
  echo "ok   $1"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL $1: $2"
}
cli() { redis-cli -p "$PORT" "$@"; }

# Compares output with an expected file line by line; an expected line "~ REGEX" matches by regex.
# Prints the mismatches and returns non-zero if there are any.
compare() {
  awk -v expected="$1" '
    BEGIN { while ((getline line < expected) > 0) want[++n] = line }
    {
      got = $0
      if (NR > n) { printf "  line %d: unexpected %s\n", NR, got; bad++; next }
      w = want[NR]
      if (substr(w, 1, 2) == "~ ") { if (got !~ substr(w, 3)) { printf "  line %d: got %s, want /%s/\n", NR, got, substr(w, 3); bad++ } }
      else if (got != w) { printf "  line %d: got %s, want %s\n", NR, got, w; bad++ }
    }
    END { if (NR < n) { printf "  output ends after %d of %d lines\n", NR, n; bad++ } exit bad > 0 }
  ' "$2"
}

# (a) scripted redis-cli sessions: every reply checked.
for session in session session-resp3; do
  flags=()
  [ "$session" = session-resp3 ] && flags=(-3)
  cli "${flags[@]}" <"interop/$session.redis" >"$WORK/$session.out" 2>&1 || true
  if diffs=$(compare "interop/$session.expected" "$WORK/$session.out"); then
    ok "redis-cli ${flags[*]:+${flags[*]} }session ($(wc -l <"interop/$session.redis") commands)"
  else
    fail "redis-cli ${flags[*]:+${flags[*]} }session" $'replies differ from interop/'"$session.expected"$':\n'"$diffs"
  fi
done

# (a) mass insertion with redis-cli --pipe, then DBSIZE and --scan.
cli flushall >/dev/null
awk -v n="$PIPE_KEYS" 'BEGIN {
  for (i = 0; i < n; i++) {
    k = "pipe:" i; v = "value:" i
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
  }
}' >"$WORK/mass.resp"
pipe_out=$(cli --pipe <"$WORK/mass.resp" 2>&1) || true
if grep -q "errors: 0, replies: $PIPE_KEYS\$" <<<"$pipe_out"; then
  ok "redis-cli --pipe: $PIPE_KEYS SETs, errors: 0"
else
  fail "redis-cli --pipe" "no 'errors: 0, replies: $PIPE_KEYS' in: $(tail -n 3 <<<"$pipe_out" | tr '\n' ' ')"
fi
dbsize=$(cli dbsize)
if [ "$dbsize" = "$PIPE_KEYS" ]; then ok "DBSIZE after --pipe is $dbsize"; else fail "DBSIZE after --pipe" "got $dbsize, want $PIPE_KEYS"; fi
last=$((PIPE_KEYS - 1))
value=$(cli get "pipe:$last")
if [ "$value" = "value:$last" ]; then ok "GET pipe:$last after --pipe"; else fail "GET pipe:$last after --pipe" "got '$value'"; fi

cli --scan --pattern 'pipe:*' >"$WORK/scan-all"
all=$(wc -l <"$WORK/scan-all")
distinct=$(sort -u "$WORK/scan-all" | wc -l)
if [ "$all" -eq "$PIPE_KEYS" ] && [ "$distinct" -eq "$PIPE_KEYS" ]; then
  ok "redis-cli --scan --pattern 'pipe:*': $all keys, no duplicates"
else
  fail "redis-cli --scan --pattern 'pipe:*'" "$all keys ($distinct distinct), want $PIPE_KEYS"
fi
want_ones=$(awk -v n="$PIPE_KEYS" 'BEGIN { for (i = 0; i < n; i++) if (substr(i "", 1, 1) == "1") c++; print c + 0 }')
ones=$(cli --scan --pattern 'pipe:1*' | wc -l)
if [ "$ones" -eq "$want_ones" ]; then
  ok "redis-cli --scan --pattern 'pipe:1*': $ones keys"
else
  fail "redis-cli --scan --pattern 'pipe:1*'" "$ones keys, want $want_ones"
fi

# (b) redis-benchmark smoke run: every test reports a positive rate, no error, and the data it
# leaves behind adds up (INCR on one counter, as many pops as pushes).
cli flushall >/dev/null
tests=set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,mset
bench_rc=0
redis-benchmark -p "$PORT" -q -n "$BENCH_REQUESTS" -t "$tests" >"$WORK/bench.out" 2>&1 || bench_rc=$?
tr '\r' '\n' <"$WORK/bench.out" | grep 'requests per second' >"$WORK/bench.rates" || true
bench_problems=()
[ "$bench_rc" -eq 0 ] || bench_problems+=("exit status $bench_rc")
for t in SET GET INCR LPUSH RPUSH LPOP RPOP SADD HSET 'MSET (10 keys)'; do
  rate=$(awk -v t="$t" -F': ' '{ sub(/^ +/, "", $1) } $1 == t { split($2, w, " "); print w[1] }' "$WORK/bench.rates")
  if [ -z "$rate" ]; then
    bench_problems+=("no result for $t")
  elif ! awk -v r="$rate" 'BEGIN { exit !(r > 0) }'; then
    bench_problems+=("$t at $rate requests per second")
  fi
done
if tr '\r' '\n' <"$WORK/bench.out" | grep -Eiq 'error|ERR '; then
  bench_problems+=("$(tr '\r' '\n' <"$WORK/bench.out" | grep -Ei 'error|ERR ' | head -n 3 | tr '\n' ' ')")
fi
counter=$(cli get 'counter:__rand_int__')
[ "$counter" = "$BENCH_REQUESTS" ] || bench_problems+=("INCR counter is '$counter', want $BENCH_REQUESTS")
llen=$(cli llen mylist)
[ "$llen" = 0 ] || bench_problems+=("LLEN mylist is $llen after as many pops as pushes")
scard=$(cli scard myset)
[ "$scard" = 1 ] || bench_problems+=("SCARD myset is $scard, want 1")
hlen=$(cli hlen myhash)
[ "$hlen" = 1 ] || bench_problems+=("HLEN myhash is $hlen, want 1")
if [ ${#bench_problems[@]} -eq 0 ]; then
  ok "redis-benchmark -n $BENCH_REQUESTS -t $tests: $(awk -F': ' '{ sub(/^ +/, "", $1); split($2, w, " "); printf "%s%s %s", sep, $1, w[1]; sep = ", " }' "$WORK/bench.rates") req/s"
else
  fail "redis-benchmark -n $BENCH_REQUESTS -t $tests" "$(printf '%s; ' "${bench_problems[@]}")"
fi

# (c) redis-py, RESP2 and RESP3.
py_rc=0
python3 interop/redis_py_check.py --port "$PORT" "${PY_FLAGS[@]}" >"$WORK/py.out" 2>&1 || py_rc=$?
sed 's/^/  redis-py: /' "$WORK/py.out"
py_summary=$(tail -n 1 "$WORK/py.out")
if [ "$py_rc" -eq 0 ] && grep -Eq '^[0-9]+ passed, 0 failed$' <<<"$py_summary"; then
  ok "redis-py (interop/redis_py_check.py): $py_summary"
else
  fail "redis-py (interop/redis_py_check.py)" "exit status $py_rc, last line: $py_summary"
fi

# (d) redis-py against one node directly: transactions and pub/sub (which the proxy refuses).
if [ -n "${NODE_PORT:-}" ]; then
  wait_ready "$NODE_PORT"
  # A failover may have made that node a standby meanwhile: follow ROLE to its primary.
  if [ "$(redis-cli -p "$NODE_PORT" role 2>/dev/null | head -n 1)" = slave ]; then
    NODE_PORT=$(redis-cli -p "$NODE_PORT" role | sed -n 3p)
  fi
  py_rc=0
  python3 interop/redis_py_check.py --port "$NODE_PORT" --multi supported --pubsub supported --cluster skip \
    >"$WORK/py-node.out" 2>&1 || py_rc=$?
  sed 's/^/  redis-py (node): /' "$WORK/py-node.out"
  py_summary=$(tail -n 1 "$WORK/py-node.out")
  if [ "$py_rc" -eq 0 ] && grep -Eq '^[0-9]+ passed, 0 failed$' <<<"$py_summary"; then
    ok "redis-py against a node (MULTI/EXEC, WATCH, pub/sub): $py_summary"
  else
    fail "redis-py against a node" "exit status $py_rc, last line: $py_summary"
  fi
fi

# (e) redis-py's Lock and register_script (Lua scripts by EVALSHA) through the deployment.
if [ -n "${SCRIPT_PORT:-}" ]; then
  scripts_rc=0
  python3 interop/redis_py_scripts.py --port "$SCRIPT_PORT" >"$WORK/py-scripts.out" 2>&1 || scripts_rc=$?
  sed 's/^/  redis-py scripts: /' "$WORK/py-scripts.out"
  scripts_summary=$(tail -n 1 "$WORK/py-scripts.out")
  if [ "$scripts_rc" -eq 0 ] && grep -Eq '^[0-9]+ passed, 0 failed$' <<<"$scripts_summary"; then
    ok "redis-py Lock and register_script (interop/redis_py_scripts.py): $scripts_summary"
  else
    fail "redis-py Lock and register_script (interop/redis_py_scripts.py)" "exit status $scripts_rc, last line: $scripts_summary"
  fi
else
  echo "interop: redis-py scripts skipped (no node port known for this deployment)"
fi

# (f) job queues and message buses: an RQ worker on several queues, kombu direct and fanout.
queue_flags=()
[ -n "${NODE_PORTS:-}" ] && queue_flags=(--nodes "$NODE_PORTS")
queues_rc=0
timeout 300 python3 interop/queues_check.py --port "$PORT" "${queue_flags[@]}" >"$WORK/queues.out" 2>&1 || queues_rc=$?
sed 's/^/  queues: /' "$WORK/queues.out"
queues_summary=$(tail -n 1 "$WORK/queues.out")
if [ "$queues_rc" -eq 0 ] && grep -Eq '^[0-9]+ passed, 0 failed$' <<<"$queues_summary"; then
  ok "RQ and kombu (interop/queues_check.py): $queues_summary"
else
  fail "RQ and kombu (interop/queues_check.py)" "exit status $queues_rc, last line: $queues_summary"
fi

if [ "$failed" -gt 0 ]; then
  echo "interop: logs of the deployment:"
  show_logs 2>&1
fi
echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
