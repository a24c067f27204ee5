#!/usr/bin/env bash
# switchyard load benchmark for the C5-style REST API (/api/): one run, every figure of the C5
# section of BENCHMARKS.md, in the same run as the bare hyper ceiling.
#
#   bench/c5.sh
#
# Builds release binaries, starts the bare hyper ceiling (examples/bare_hyper.rs) and switchyard
# (fresh data directory from mktemp, plain HTTP and HTTPS listeners on 127.0.0.1), makes a customer
# contact, a customer and a domain through /api/ (curl, Basic over HTTPS), then with
# examples/loadgen.rs:
#
#   1. GET /api/subscribers/{id} and GET /api/callforwards/{id} (cfu with three destinations and a
#      time set, PUT once by curl beforehand) over keep-alive, interleaved with the bare hyper runs:
#      over plain HTTP (Digest SHA-256 by default, see BENCH_HTTP_AUTH) and over HTTPS with
#      preemptive Basic;
#   2. POST /api/subscribers/ (durable commits) at BENCH_CONNECTIONS and at BENCH_WIDE connections;
#      PUT /api/callforwards/{id} (durable commits, 204) at BENCH_CONNECTIONS and at BENCH_WIDE;
#   3. more POSTs until the database holds BENCH_SUBSCRIBERS subscribers (all made through the API);
#   4. GET /api/subscribers/?page=1&rows=10 and ?page=<last>&rows=10, sequential requests on one
#      keep-alive connection, interleaved and repeated;
#
# samples switchyard's peak RSS and prints a table with the verdicts. Before the runs it sends one
# GET with Basic over plain HTTP and prints the answer (design §2 allows Basic only over TLS).
# All load goes to 127.0.0.1; every load run is bounded in time; servers are stopped on exit.
#
# Knobs (environment):
#   BENCH_DURATION          seconds per GET/POST load run (default 4)
#   BENCH_CONNECTIONS       keep-alive connections per run (default 32)
#   BENCH_REPEAT            interleaved repetitions of the ratio runs and page runs; medians are
#                           used (default 3)
#   BENCH_WIDE              connections of the second, wider POST and PUT runs (default 128)
#   BENCH_SUBSCRIBERS       subscribers in the database for the page runs (default 100000)
#   BENCH_SEED_CONNECTIONS  connections of the POST run that fills the database (default 64)
#   BENCH_PAGE_REQUESTS     sequential requests per page run (default 500)
#   BENCH_PAGE_ROWS         rows per page (default 10)
#   BENCH_HTTP_AUTH         auth of the plain-HTTP GET runs: digest (default) | basic
#   BENCH_LOADGEN_THREADS   load generator threads (default 1)
#   BENCH_OUT               directory for the JSON lines (default bench/out)
#   BENCH_NO_BUILD=1        reuse the release binaries already built
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-4}
CONNS=${BENCH_CONNECTIONS:-32}
REPEAT=${BENCH_REPEAT:-3}
WIDE=${BENCH_WIDE:-128}
SUBSCRIBERS=${BENCH_SUBSCRIBERS:-100000}
SEED_CONNS=${BENCH_SEED_CONNECTIONS:-64}
PAGE_REQUESTS=${BENCH_PAGE_REQUESTS:-500}
ROWS=${BENCH_PAGE_ROWS:-10}
HTTP_AUTH=${BENCH_HTTP_AUTH:-digest}
THREADS=${BENCH_LOADGEN_THREADS:-1}
OUT_DIR=${BENCH_OUT:-bench/out}
BIN=${CARGO_TARGET_DIR:-target}/release
EXAMPLES=$BIN/examples
# Servers give up by themselves after this long, even if this script is killed with SIGKILL.
SERVER_LIFETIME=1500
DOMAIN=bench.example.com

# shellcheck source=bench/lib.sh
source bench/lib.sh

build_release
machine_info

# --- servers ---------------------------------------------------------------------------------
start_servers

mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/c5-$(date -u +%Y%m%dT%H%M%SZ).jsonl

# api_put PATH JSON: PUT over HTTPS with Basic, without Prefer; anything but 204 stops the run.
api_put() {
    local path=$1 body=$2 status
    status=$(curl -sS -o "$WORK/api.body" -D "$WORK/api.head" -w '%{http_code}' \
        --cacert "$CERT" -u "root:$PASSWORD" -X PUT -H 'Content-Type: application/json' \
        --data-binary "$body" "$SY_HTTPS$path") || status=000
    if [[ $status != 204 ]]; then
        log "API call failed: PUT $SY_HTTPS$path (Basic, root), body: $body"
        log "response: HTTP $status"
        cat "$WORK/api.head" "$WORK/api.body" >&2 2>/dev/null || true
        exit 1
    fi
}
# api_total_count PATH: GET over HTTPS with Basic; prints total_count. Anything but 200 stops.
api_total_count() {
    api_get "$1" | sed -n 's/.*"total_count" *: *\([0-9]*\).*/\1/p' | head -1
}

# --- set-up through /api/ --------------------------------------------------------------------
log "== set-up: customer contact, customer, domain"
CONTACT=$(api_post /api/customercontacts/ '{"email":"b@example.com","reseller_id":1}')
CUSTOMER=$(api_post /api/customers/ \
    "{\"contact_id\":$CONTACT,\"status\":\"active\",\"type\":\"sipaccount\",\"billing_profile_id\":1}")
DOMAIN_ID=$(api_post /api/domains/ "{\"domain\":\"$DOMAIN\",\"reseller_id\":1}")
log "contact $CONTACT, customer $CUSTOMER, domain $DOMAIN_ID ($DOMAIN)"

SY_TLS=(--url "$SY_HTTPS" --cacert "$CERT" --server-pid "$SY_PID")
CREATE=(--mode c5-create --customer "$CUSTOMER" --domain "$DOMAIN")
loadgen c5-seed "${SY_TLS[@]}" "${CREATE[@]}" --connections 1 --total 1 --duration 10 --prefix seed
SUBSCRIBER=$(jget "$(result c5-seed)" first_created)
if [[ -z $SUBSCRIBER || $SUBSCRIBER == null || $(jget "$(result c5-seed)" errors) != 0 ]]; then
    log "seeding failed: $(result c5-seed)"
    exit 1
fi
log "seeded subscriber $SUBSCRIBER"

# The call forwarding the GET runs read: cfu with three destinations and a time set (the same
# document c5-cf-put sends, but for its first number, which there carries the call number).
CF_DOC='{"cfu":{"destinations":[{"destination":"4366610001","timeout":10},{"destination":"4366610002","timeout":20},{"destination":"voicebox","timeout":30}],"times":[{"hour":"8-18","wday":"2-6"}]}}'
api_put "/api/callforwards/$SUBSCRIBER" "$CF_DOC"
CF_BODY=$(api_get "/api/callforwards/$SUBSCRIBER")
CF_BYTES=${#CF_BODY}
CF_DESTS=$(grep -c '"simple_destination"' <<<"$CF_BODY" || true)
log "callforwards of subscriber $SUBSCRIBER: $CF_BYTES bytes, $CF_DESTS destinations"
if [[ $CF_DESTS != 3 || $CF_BODY != *'"8-18"'* ]]; then
    log "the call forwarding did not read back as written:"
    printf '%s\n' "$CF_BODY" >&2
    exit 1
fi

# One GET with Basic over plain HTTP: design §2 allows Basic only over TLS, so this is expected
# to be refused. The answer is printed and reported, not load-tested (each refusal counts towards
# the server's failed-login throttle for 127.0.0.1).
log "== probe: GET $SY_HTTP/api/subscribers/$SUBSCRIBER with Basic over plain HTTP"
PROBE_STATUS=$(curl -sS -o "$WORK/probe.body" -D "$WORK/probe.head" -w '%{http_code}' \
    -u "root:$PASSWORD" "$SY_HTTP/api/subscribers/$SUBSCRIBER") || PROBE_STATUS=000
tr -d '\r' <"$WORK/probe.head" | sed 's/^/   < /' >&2
sed 's/^/   < /' "$WORK/probe.body" >&2
log ""
PROBE_BODY=$(tr -d '\n' <"$WORK/probe.body")

BUSY=$(background_load)
log "== background CPU load before the runs: ${BUSY}% of $(nproc) cores"
if ((BUSY > 10)); then
    log "warning: the machine is busy with other work; figures will be low and noisy"
fi

# --- runs ------------------------------------------------------------------------------------
common=(--connections "$CONNS" --duration "$DURATION")
SY_HTTP_GET=(--url "$SY_HTTP" --server-pid "$SY_PID" --mode c5-get --subscriber "$SUBSCRIBER"
    --auth "$HTTP_AUTH")
SY_HTTPS_GET=("${SY_TLS[@]}" --mode c5-get --subscriber "$SUBSCRIBER" --auth basic)
SY_HTTP_CF=(--url "$SY_HTTP" --server-pid "$SY_PID" --mode c5-cf-get --subscriber "$SUBSCRIBER"
    --auth "$HTTP_AUTH")
SY_HTTPS_CF=("${SY_TLS[@]}" --mode c5-cf-get --subscriber "$SUBSCRIBER" --auth basic)
CF_PUT=("${SY_TLS[@]}" --mode c5-cf-put --subscriber "$SUBSCRIBER" --auth basic)
BARE=(--server-pid "$BARE_PID")
# The six ratio runs are interleaved and repeated; the ratios use the medians.
for ((i = 1; i <= REPEAT; i++)); do
    loadgen "bare-http-hello-$i" --url "$BARE_HTTP" --mode hello "${BARE[@]}" "${common[@]}"
    loadgen "c5-http-get-$i" "${SY_HTTP_GET[@]}" "${common[@]}"
    loadgen "c5-http-cf-get-$i" "${SY_HTTP_CF[@]}" "${common[@]}"
    loadgen "bare-https-hello-$i" --url "$BARE_HTTPS" --cacert "$WORK/bare.pem" --mode hello \
        "${BARE[@]}" "${common[@]}"
    loadgen "c5-https-get-$i" "${SY_HTTPS_GET[@]}" "${common[@]}"
    loadgen "c5-https-cf-get-$i" "${SY_HTTPS_CF[@]}" "${common[@]}"
done
loadgen c5-https-create "${SY_TLS[@]}" "${CREATE[@]}" --prefix conc "${common[@]}"
loadgen c5-https-create-wide "${SY_TLS[@]}" "${CREATE[@]}" --prefix wide --connections "$WIDE" \
    --duration "$DURATION"
loadgen c5-https-cf-put "${CF_PUT[@]}" "${common[@]}"
loadgen c5-https-cf-put-wide "${CF_PUT[@]}" --connections "$WIDE" --duration "$DURATION"
# The PUTs left a forwarding of the same shape; check it still reads back whole.
CF_AFTER=$(api_get "/api/callforwards/$SUBSCRIBER")
if [[ $(grep -c '"simple_destination"' <<<"$CF_AFTER" || true) != 3 ]]; then
    log "the call forwarding after the PUT runs is not three destinations:"
    printf '%s\n' "$CF_AFTER" >&2
    exit 1
fi

# Fill the database to SUBSCRIBERS subscribers, through the API.
HAVE=$((1 + $(jget "$(result c5-https-create)" ok) + $(jget "$(result c5-https-create-wide)" ok)))
if ((HAVE < SUBSCRIBERS)); then
    loadgen c5-https-fill "${SY_TLS[@]}" "${CREATE[@]}" --prefix fill \
        --connections "$SEED_CONNS" --total $((SUBSCRIBERS - HAVE)) --duration 600
fi
TOTAL=$(api_total_count "/api/subscribers/?page=1&rows=$ROWS")
LAST_PAGE=$(((TOTAL + ROWS - 1) / ROWS))
log "== $TOTAL subscribers in the database; last page at rows=$ROWS: $LAST_PAGE"
if ((TOTAL < SUBSCRIBERS)); then
    log "warning: fewer subscribers than BENCH_SUBSCRIBERS=$SUBSCRIBERS"
fi

PAGE=("${SY_TLS[@]}" --mode c5-page --connections 1 --requests "$PAGE_REQUESTS" --duration 60)
FIRST_PATH="/api/subscribers/?page=1&rows=$ROWS"
LAST_PATH="/api/subscribers/?page=$LAST_PAGE&rows=$ROWS"
for ((i = 1; i <= REPEAT; i++)); do
    loadgen "c5-page-first-$i" "${PAGE[@]}" --path "$FIRST_PATH"
    loadgen "c5-page-last-$i" "${PAGE[@]}" --path "$LAST_PATH"
done

SY_HWM_KB=$(kb "$SY_PID" VmHWM)
SY_RSS_KB=$(kb "$SY_PID" VmRSS)
BARE_HWM_KB=$(kb "$BARE_PID" VmHWM)
printf '{"label":"memory","switchyard_vmhwm_kb":%s,"switchyard_vmrss_kb":%s,"bare_hyper_vmhwm_kb":%s,"subscribers":%s}\n' \
    "$SY_HWM_KB" "$SY_RSS_KB" "$BARE_HWM_KB" "$TOTAL" >>"$RESULTS"
printf '{"label":"basic-over-http-probe","status":%s}\n' "$PROBE_STATUS" >>"$RESULTS"

# --- report ----------------------------------------------------------------------------------
BARE_HTTP_RPS=$(median_of bare-http-hello rps)
BARE_HTTPS_RPS=$(median_of bare-https-hello rps)
C5_HTTP_RPS=$(median_of c5-http-get rps)
C5_HTTPS_RPS=$(median_of c5-https-get rps)
HTTP_RATIO=$(ratio "$C5_HTTP_RPS" "$BARE_HTTP_RPS")
HTTPS_RATIO=$(ratio "$C5_HTTPS_RPS" "$BARE_HTTPS_RPS")
CF_HTTP_RPS=$(median_of c5-http-cf-get rps)
CF_HTTPS_RPS=$(median_of c5-https-cf-get rps)
CF_HTTP_RATIO=$(ratio "$CF_HTTP_RPS" "$BARE_HTTP_RPS")
CF_HTTPS_RATIO=$(ratio "$CF_HTTPS_RPS" "$BARE_HTTPS_RPS")
CF_PUT_RPS=$(jget "$(result c5-https-cf-put)" rps)
CF_PUT_WIDE_RPS=$(jget "$(result c5-https-cf-put-wide)" rps)
CREATE_RPS=$(jget "$(result c5-https-create)" rps)
WIDE_RPS=$(jget "$(result c5-https-create-wide)" rps)
FIRST_P50=$(median_of c5-page-first p50_ms)
FIRST_P99=$(median_of c5-page-first p99_ms)
LAST_P50=$(median_of c5-page-last p50_ms)
LAST_P99=$(median_of c5-page-last p99_ms)
P50_RATIO=$(ratio "$LAST_P50" "$FIRST_P50")
P99_RATIO=$(ratio "$LAST_P99" "$FIRST_P99")
HWM_MB=$(awk -v k="$SY_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }')
BARE_HWM_MB=$(awk -v k="$BARE_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }')
if [[ $HTTP_AUTH == digest ]]; then
    HTTP_AUTH_NAME="Digest SHA-256"
else
    HTTP_AUTH_NAME="Basic"
fi
ERRORS=0

{
    echo
    echo "== C5 results: $DURATION s per GET/POST run, $CONNS connections (wide POST/PUT: $WIDE), loadgen"
    echo "   threads $THREADS, $(nproc) cores shared by server and loadgen, background load ${BUSY}%;"
    echo "   HTTP GETs: $HTTP_AUTH_NAME; HTTPS: preemptive Basic; pages: $PAGE_REQUESTS sequential"
    echo "   requests on one connection, $TOTAL subscribers"
    fmt='%-22s %9s %8s %8s %6s %7s %7s %6s %8s %7s\n'
    printf "$fmt" run req/s p50_ms p99_ms errors srv_cpu lg_cpu other us/req wall_s
    BUSY_RUNS=()
    for label in "${LABELS[@]}"; do
        line=$(result "$label")
        printf "$fmt" "$label" "$(show "$line" rps)" "$(show "$line" p50_ms)" "$(show "$line" p99_ms)" \
            "$(show "$line" errors)" "$(show "$line" server_cores)" "$(show "$line" loadgen_cores)" \
            "$(show "$line" other_cores)" "$(show "$line" server_cpu_us_per_ok)" "$(show "$line" wall_s)"
        ERRORS=$((ERRORS + $(jget "$line" errors)))
        if [[ $(verdict "$(jget "$line" other_cores)" 0.15 '<=') == MISSED ]]; then
            BUSY_RUNS+=("$label")
        fi
    done
    echo "(srv_cpu / lg_cpu: cores used by the server / the load generator during the run;"
    echo " other: cores used by anything else; us/req: server CPU microseconds per successful request)"
    if ((${#BUSY_RUNS[@]} > 0)); then
        echo "warning: other work used more than 0.15 cores during: ${BUSY_RUNS[*]};"
        echo "         their figures are low and the ratios that use them unreliable"
    fi
    echo
    echo "medians of $REPEAT: bare HTTP $BARE_HTTP_RPS, GET subscriber HTTP $C5_HTTP_RPS," \
        "bare HTTPS $BARE_HTTPS_RPS, GET subscriber HTTPS $C5_HTTPS_RPS req/s"
    echo "GET /api/subscribers/{id} with Basic over plain HTTP: HTTP $PROBE_STATUS $PROBE_BODY"
    if [[ $HTTP_AUTH == basic ]]; then
        echo "GET subscriber (Basic) / bare hyper, HTTP: $HTTP_RATIO (target >= 0.5)" \
            "$(verdict "$HTTP_RATIO" 0.5 '>=')"
    else
        echo "  -> target 'Basic over HTTP >= 0.5 x ceiling' NOT MEASURABLE as stated (Basic refused over HTTP)"
        echo "GET subscriber ($HTTP_AUTH_NAME) / bare hyper, HTTP: $HTTP_RATIO (0.5 target, other auth)" \
            "$(verdict "$HTTP_RATIO" 0.5 '>=')"
    fi
    echo "GET subscriber (Basic) / bare hyper, HTTPS: $HTTPS_RATIO (0.5 target of HTTP:" \
        "$(verdict "$HTTPS_RATIO" 0.5 '>='); XML-RPC's HTTPS target 0.35: $(verdict "$HTTPS_RATIO" 0.35 '>='))"
    echo "medians of $REPEAT: GET callforwards HTTP $CF_HTTP_RPS, GET callforwards HTTPS $CF_HTTPS_RPS" \
        "req/s ($CF_BYTES-byte document, 3 destinations, a time set)"
    echo "GET callforwards ($HTTP_AUTH_NAME) / bare hyper, HTTP: $CF_HTTP_RATIO (target >= 0.4)" \
        "$(verdict "$CF_HTTP_RATIO" 0.4 '>=')"
    echo "GET callforwards (Basic) / bare hyper, HTTPS: $CF_HTTPS_RATIO (target >= 0.4)" \
        "$(verdict "$CF_HTTPS_RATIO" 0.4 '>=')"
    echo "durable PUT /api/callforwards/{id} per s, $CONNS connections: $CF_PUT_RPS (target >= 2000)" \
        "$(verdict "$CF_PUT_RPS" 2000 '>=')"
    echo "durable PUT /api/callforwards/{id} per s, $WIDE connections: $CF_PUT_WIDE_RPS (target >= 2000)" \
        "$(verdict "$CF_PUT_WIDE_RPS" 2000 '>=')"
    echo "durable POST /api/subscribers/ per s, $CONNS connections: $CREATE_RPS (target >= 3000)" \
        "$(verdict "$CREATE_RPS" 3000 '>=')"
    echo "durable POST /api/subscribers/ per s, $WIDE connections: $WIDE_RPS (target >= 3000)" \
        "$(verdict "$WIDE_RPS" 3000 '>=')"
    echo "page=1 p50 $FIRST_P50 ms p99 $FIRST_P99 ms; page=$LAST_PAGE p50 $LAST_P50 ms p99 $LAST_P99 ms" \
        "(medians of $REPEAT)"
    echo "last / first page, p50: $P50_RATIO (target <= 3) $(verdict "$P50_RATIO" 3 '<=')"
    echo "last / first page, p99: $P99_RATIO (target <= 3) $(verdict "$P99_RATIO" 3 '<=')"
    echo "switchyard peak RSS (VmHWM): $HWM_MB MB with $TOTAL subscribers (bare hyper: $BARE_HWM_MB MB)"
    echo "errors in all runs: $ERRORS"
    echo "JSON lines: $RESULTS"
}
if ((ERRORS > 0)); then
    log "some requests failed: see first_error in $RESULTS"
    exit 1
fi
