#!/usr/bin/env bash
# switchyard load benchmark: one run, every figure BENCHMARKS.md reports.
#
#   bench/run.sh
#
# Builds release binaries, starts the bare hyper ceiling (examples/bare_hyper.rs) and switchyard
# (fresh data directory from mktemp, plain HTTP and HTTPS listeners on 127.0.0.1), seeds one
# account, runs examples/loadgen.rs against both, samples switchyard's peak RSS and prints a table.
# All load goes to 127.0.0.1; every load run is bounded in time; servers are stopped on exit.
#
# Knobs (environment):
#   BENCH_DURATION         seconds per load run (default 4)
#   BENCH_CONNECTIONS      keep-alive connections per run (default 32)
#   BENCH_REPEAT           interleaved repetitions of the four ratio runs; medians are used (default 3)
#   BENCH_WIDE             connections of the second, wider createAccount run (default 128)
#   BENCH_SEQUENTIAL       calls in the sequential createAccount run (default 1000)
#   BENCH_LOADGEN_THREADS  load generator threads (default 1)
#   BENCH_ALG              Digest algorithm the load generator answers with: sha256 | md5
#   BENCH_OUT              directory for the JSON lines (default bench/out)
#   BENCH_NO_BUILD=1       reuse the release binaries already built
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-4}
CONNS=${BENCH_CONNECTIONS:-32}
REPEAT=${BENCH_REPEAT:-3}
WIDE=${BENCH_WIDE:-128}
SEQUENTIAL=${BENCH_SEQUENTIAL:-1000}
THREADS=${BENCH_LOADGEN_THREADS:-1}
ALG=${BENCH_ALG:-sha256}
OUT_DIR=${BENCH_OUT:-bench/out}
BIN=${CARGO_TARGET_DIR:-target}/release
EXAMPLES=$BIN/examples
# Servers give up by themselves after this long, even if this script is killed with SIGKILL.
SERVER_LIFETIME=900

log() { printf '%s\n' "$*" >&2; }

if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    log "== building release binaries"
    # Two invocations, so the switchyard binary is built without the examples' dev-dependency
    # features (hyper's client).
    cargo build --release --bin switchyard
    cargo build --release --example loadgen --example bare_hyper
fi

WORK=$(mktemp -d -t switchyard-bench.XXXXXX)
DATA=$(mktemp -d -t switchyard-bench-data.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK" "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for_url FILE SCHEME: the first SCHEME://ADDR printed into FILE, within 30 s.
wait_for_url() {
    local file=$1 scheme=$2 url i
    for ((i = 0; i < 300; i++)); do
        url=$(grep -o -m1 "${scheme}://[0-9.:]*" "$file" 2>/dev/null || true)
        if [[ -n $url ]]; then
            printf '%s\n' "$url"
            return 0
        fi
        sleep 0.1
    done
    log "no ${scheme} address in $file after 30 s:"
    cat "$file" "$file.err" >&2 2>/dev/null || true
    return 1
}

# jget JSON KEY: a scalar member of loadgen's flat JSON line (numbers, null, simple strings).
jget() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }
# show JSON KEY: jget for the table, "-" for null.
show() { local v; v=$(jget "$1" "$2"); printf '%s' "${v/#null/-}"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
verdict() {
    awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
        if (v == "" || v == "n/a") { print "UNKNOWN"; exit }
        ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 < t + 0); print (ok ? "MET" : "MISSED") }'
}
# Share of all cores busy over one second (other work on the machine skews every figure).
background_load() {
    local a b
    a=($(head -1 /proc/stat))
    sleep 1
    b=($(head -1 /proc/stat))
    awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
        n = split(a, x, " "); split(b, y, " "); t = 0; idle = 0
        for (i = 2; i <= n; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%.0f", (t > 0) ? 100 * (t - idle) / t : 0 }'
}

log "== machine"
log "nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
log "kernel: $(uname -r); rustc: $(rustc --version)"
log "memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
log "data dir: $DATA ($(df -T "$DATA" | awk 'NR == 2 {print $2 " on " $1}'))"

# --- servers ---------------------------------------------------------------------------------
"$EXAMPLES/bare_hyper" --cert-out "$WORK/bare.pem" --exit-after "$SERVER_LIFETIME" \
    >"$WORK/bare.out" 2>"$WORK/bare.out.err" &
BARE_PID=$!
PIDS+=("$BARE_PID")
BARE_HTTP=$(wait_for_url "$WORK/bare.out" http)
BARE_HTTPS=$(wait_for_url "$WORK/bare.out" https)

PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
SWITCHYARD_ROOT_PASSWORD=$PASSWORD timeout "$SERVER_LIFETIME" "$BIN/switchyard" serve \
    --data-dir "$DATA" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    >"$WORK/switchyard.out" 2>"$WORK/switchyard.out.err" &
TIMEOUT_PID=$!
PIDS+=("$TIMEOUT_PID")
SY_HTTPS=$(wait_for_url "$WORK/switchyard.out" https)
SY_HTTP=$(wait_for_url "$WORK/switchyard.out" http)
SY_PID=$(awk '{print $1}' "/proc/$TIMEOUT_PID/task/$TIMEOUT_PID/children")
[[ -n $SY_PID ]] || { log "cannot find the switchyard process"; exit 1; }
CERT=$DATA/tls/cert.pem
log "== bare hyper (pid $BARE_PID): $BARE_HTTP $BARE_HTTPS"
log "== switchyard (pid $SY_PID): $SY_HTTP $SY_HTTPS"

BUSY=$(background_load)
log "== background CPU load before the runs: ${BUSY}% of $(nproc) cores"
if ((BUSY > 10)); then
    log "warning: the machine is busy with other work; figures will be low and noisy"
fi

mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/run-$(date -u +%Y%m%dT%H%M%SZ).jsonl
export LOADGEN_PASSWORD=$PASSWORD

# loadgen LABEL ARGS...: one run; its JSON line goes to $RESULTS and into R_<LABEL>.
LABELS=()
loadgen() {
    local label=$1 line
    shift
    log "-- $label"
    line=$("$EXAMPLES/loadgen" --label "$label" --threads "$THREADS" "$@")
    printf '%s\n' "$line" >>"$RESULTS"
    printf -v "R_${label//-/_}" '%s' "$line"
    LABELS+=("$label")
}
result() { local var="R_${1//-/_}"; printf '%s' "${!var}"; }

# --- seed ------------------------------------------------------------------------------------
loadgen seed --url "$SY_HTTPS" --cacert "$CERT" --mode create-account --alg "$ALG" \
    --connections 1 --requests 1 --prefix seed
ACCOUNT=$(jget "$(result seed)" first_created)
if [[ -z $ACCOUNT || $(jget "$(result seed)" errors) != 0 ]]; then
    log "seeding failed: $(result seed)"
    exit 1
fi
log "seeded account i_account=$ACCOUNT"

# --- runs ------------------------------------------------------------------------------------
common=(--connections "$CONNS" --duration "$DURATION")
SY=(--server-pid "$SY_PID" --alg "$ALG")
BARE=(--server-pid "$BARE_PID")
# The four ratio runs are interleaved and repeated; the ratios use the medians.
for ((i = 1; i <= REPEAT; i++)); do
    loadgen "bare-http-hello-$i" --url "$BARE_HTTP" --mode hello "${BARE[@]}" "${common[@]}"
    loadgen "sy-http-get-$i" --url "$SY_HTTP" --mode get-account --account "$ACCOUNT" "${SY[@]}" \
        "${common[@]}"
    loadgen "bare-https-hello-$i" --url "$BARE_HTTPS" --cacert "$WORK/bare.pem" --mode hello \
        "${BARE[@]}" "${common[@]}"
    loadgen "sy-https-get-$i" --url "$SY_HTTPS" --cacert "$CERT" --mode get-account \
        --account "$ACCOUNT" "${SY[@]}" "${common[@]}"
done
loadgen sy-https-create --url "$SY_HTTPS" --cacert "$CERT" --mode create-account --prefix conc \
    "${SY[@]}" "${common[@]}"
loadgen sy-https-create-wide --url "$SY_HTTPS" --cacert "$CERT" --mode create-account \
    --prefix wide "${SY[@]}" --connections "$WIDE" --duration "$DURATION"
loadgen sy-https-seq --url "$SY_HTTPS" --cacert "$CERT" --mode sequential-create \
    --requests "$SEQUENTIAL" --duration 60 --prefix seq "${SY[@]}"

kb() { awk -v k="$2" '$1 == k ":" {print $2}' "/proc/$1/status"; }
SY_HWM_KB=$(kb "$SY_PID" VmHWM)
SY_RSS_KB=$(kb "$SY_PID" VmRSS)
BARE_HWM_KB=$(kb "$BARE_PID" VmHWM)
ACCOUNTS=$(( $(jget "$(result sy-https-create)" ok) + $(jget "$(result sy-https-create-wide)" ok) \
    + $(jget "$(result sy-https-seq)" ok) + 1 ))
printf '{"label":"memory","switchyard_vmhwm_kb":%s,"switchyard_vmrss_kb":%s,"bare_hyper_vmhwm_kb":%s,"accounts":%s}\n' \
    "$SY_HWM_KB" "$SY_RSS_KB" "$BARE_HWM_KB" "$ACCOUNTS" >>"$RESULTS"

# --- report ----------------------------------------------------------------------------------
rps_of() {
    local i values=()
    for ((i = 1; i <= REPEAT; i++)); do
        values+=("$(jget "$(result "$1-$i")" rps)")
    done
    median "${values[@]}"
}
BARE_HTTP_RPS=$(rps_of bare-http-hello)
BARE_HTTPS_RPS=$(rps_of bare-https-hello)
SY_HTTP_RPS=$(rps_of sy-http-get)
SY_HTTPS_RPS=$(rps_of sy-https-get)
HTTP_RATIO=$(ratio "$SY_HTTP_RPS" "$BARE_HTTP_RPS")
HTTPS_RATIO=$(ratio "$SY_HTTPS_RPS" "$BARE_HTTPS_RPS")
CREATE_RPS=$(jget "$(result sy-https-create)" rps)
WIDE_RPS=$(jget "$(result sy-https-create-wide)" rps)
SEQ_S=$(jget "$(result sy-https-seq)" wall_s)
SEQ_OK=$(jget "$(result sy-https-seq)" ok)
HWM_MB=$(awk -v k="$SY_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }')
BARE_HWM_MB=$(awk -v k="$BARE_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }')
ERRORS=0

{
    echo
    echo "== results: $DURATION s per run, $CONNS connections (wide create: $WIDE), loadgen threads $THREADS,"
    echo "   digest $ALG, $(nproc) cores shared by server and loadgen, background load ${BUSY}%"
    fmt='%-22s %9s %8s %8s %6s %7s %7s %8s %7s\n'
    printf "$fmt" run req/s p50_ms p99_ms errors srv_cpu lg_cpu us/req wall_s
    for label in "${LABELS[@]}"; do
        line=$(result "$label")
        printf "$fmt" "$label" "$(show "$line" rps)" "$(show "$line" p50_ms)" "$(show "$line" p99_ms)" \
            "$(show "$line" errors)" "$(show "$line" server_cores)" "$(show "$line" loadgen_cores)" \
            "$(show "$line" server_cpu_us_per_ok)" "$(show "$line" wall_s)"
        ERRORS=$((ERRORS + $(jget "$line" errors)))
    done
    echo "(srv_cpu / lg_cpu: cores used by the server / the load generator during the run;"
    echo " us/req: server CPU microseconds per successful request)"
    echo
    echo "medians of $REPEAT: bare HTTP $BARE_HTTP_RPS, getAccountInfo HTTP $SY_HTTP_RPS," \
        "bare HTTPS $BARE_HTTPS_RPS, getAccountInfo HTTPS $SY_HTTPS_RPS req/s"
    echo "getAccountInfo / bare hyper, HTTP : $HTTP_RATIO (target >= 0.5)  $(verdict "$HTTP_RATIO" 0.5 '>=')"
    echo "getAccountInfo / bare hyper, HTTPS: $HTTPS_RATIO (target >= 0.35) $(verdict "$HTTPS_RATIO" 0.35 '>=')"
    echo "durable createAccount/s, $CONNS connections: $CREATE_RPS (target >= 5000) $(verdict "$CREATE_RPS" 5000 '>=')"
    echo "durable createAccount/s, $WIDE connections: $WIDE_RPS (target >= 5000) $(verdict "$WIDE_RPS" 5000 '>=')"
    echo "$SEQ_OK sequential createAccount over HTTPS + digest: $SEQ_S s (target < 2 s) $(verdict "$SEQ_S" 2 '<')"
    echo "switchyard peak RSS (VmHWM): $HWM_MB MB after $ACCOUNTS accounts (target < 50 MB) $(verdict "$HWM_MB" 50 '<')"
    echo "  (bare hyper peak RSS: $BARE_HWM_MB MB)"
    echo "errors in all runs: $ERRORS"
    echo "JSON lines: $RESULTS"
}
if ((ERRORS > 0)); then
    log "some requests failed: see first_error in $RESULTS"
    exit 1
fi
