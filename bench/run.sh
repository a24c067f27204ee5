#!/usr/bin/env bash
# switchyard load benchmark: one run, every figure BENCHMARKS.md reports.
#
#   bench/run.sh
#
# Builds release binaries, starts the bare hyper ceiling (examples/bare_hyper.rs) and switchyard
# (fresh data directory from mktemp, plain HTTP and HTTPS listeners on 127.0.0.1), seeds one
# account, runs examples/loadgen.rs against both, samples switchyard's peak RSS and prints a table.
# All load goes to 127.0.0.1; every load run is bounded in time; servers are stopped on exit.
# The C5 /api/ figures are measured by bench/c5.sh; both share bench/lib.sh.
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

# shellcheck source=bench/lib.sh
source bench/lib.sh

build_release
machine_info

# --- servers ---------------------------------------------------------------------------------
start_servers

BUSY=$(background_load)
log "== background CPU load before the runs: ${BUSY}% of $(nproc) cores"
if ((BUSY > 10)); then
    log "warning: the machine is busy with other work; figures will be low and noisy"
fi

mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/run-$(date -u +%Y%m%dT%H%M%SZ).jsonl

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
