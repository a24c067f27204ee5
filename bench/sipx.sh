#!/usr/bin/env bash
# switchyard load benchmark for the sipXconfig-style REST API: GET /sipxconfig/rest/my/forward
# (JSON, Digest with the subscriber's portal PIN), in the same run as the bare hyper ceiling.
#
#   bench/sipx.sh
#
# Builds release binaries, starts the bare hyper ceiling (examples/bare_hyper.rs) and switchyard
# (fresh data directory from mktemp, plain HTTP and HTTPS listeners on 127.0.0.1), makes a customer
# contact, a customer, a domain and a subscriber through /api/ (curl, Basic over HTTPS as root),
# sets the subscriber's portal PIN with `switchyard subscriber portal-pin`, PUTs a call sequence of
# three rings through my/forward (curl), then with examples/loadgen.rs (mode sipx-forward-get,
# Digest SHA-256 with a reused nonce, as Python requests does) interleaves, BENCH_REPEAT times:
# bare hyper over HTTP, my/forward over HTTP, bare hyper over HTTPS, my/forward over HTTPS.
# All load goes to 127.0.0.1; every run is bounded in time; servers are stopped on exit.
#
# Knobs (environment): BENCH_DURATION (seconds per run, default 4), BENCH_CONNECTIONS (default
# 32), BENCH_REPEAT (default 3, medians are used), BENCH_LOADGEN_THREADS (default 1), BENCH_OUT
# (default bench/out), BENCH_NO_BUILD=1 (reuse the release binaries).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-4}
CONNS=${BENCH_CONNECTIONS:-32}
REPEAT=${BENCH_REPEAT:-3}
THREADS=${BENCH_LOADGEN_THREADS:-1}
OUT_DIR=${BENCH_OUT:-bench/out}
BIN=${CARGO_TARGET_DIR:-target}/release
EXAMPLES=$BIN/examples
SERVER_LIFETIME=600
DOMAIN=bench.example.com
USER_NAME=benchuser
PIN=bench-pin-4242

# shellcheck source=bench/lib.sh
source bench/lib.sh

build_release
machine_info
start_servers
mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/sipx-$(date -u +%Y%m%dT%H%M%SZ).jsonl

# call METHOD URL EXPECTED [curl args...]: one set-up request; anything but EXPECTED stops the run.
call() {
    local method=$1 url=$2 expected=$3 status
    shift 3
    status=$(curl -sS -o "$WORK/call.body" -D "$WORK/call.head" -w '%{http_code}' \
        --cacert "$CERT" -X "$method" "$@" "$url") || status=000
    if [[ $status != "$expected" ]]; then
        log "set-up failed: $method $url: HTTP $status (expected $expected)"
        cat "$WORK/call.head" "$WORK/call.body" >&2 2>/dev/null || true
        exit 1
    fi
    tr -d '\r' <"$WORK/call.head" | sed -n 's/^[Ll]ocation: .*\///p'
}
ROOT_JSON=(-u "root:$PASSWORD" -H 'Content-Type: application/json')

log "== set-up: customer contact, customer, domain, subscriber, portal PIN, call sequence"
CONTACT=$(call POST "$SY_HTTPS/api/customercontacts/" 201 "${ROOT_JSON[@]}" \
    --data-binary '{"email":"b@example.com","reseller_id":1}')
CUSTOMER=$(call POST "$SY_HTTPS/api/customers/" 201 "${ROOT_JSON[@]}" --data-binary \
    "{\"contact_id\":$CONTACT,\"status\":\"active\",\"type\":\"sipaccount\",\"billing_profile_id\":1}")
call POST "$SY_HTTPS/api/domains/" 201 "${ROOT_JSON[@]}" \
    --data-binary "{\"domain\":\"$DOMAIN\",\"reseller_id\":1}" >/dev/null
SUBSCRIBER=$(call POST "$SY_HTTPS/api/subscribers/" 201 "${ROOT_JSON[@]}" --data-binary \
    "{\"customer_id\":$CUSTOMER,\"domain\":\"$DOMAIN\",\"username\":\"$USER_NAME\",\"password\":\"p\",\"primary_number\":{\"cc\":43,\"ac\":1,\"sn\":\"5550100\"}}")
"$BIN/switchyard" subscriber portal-pin "$SUBSCRIBER" "$PIN" --data-dir "$DATA" >&2
SEQUENCE='{"call-sequence":{"rings":[{"number":"1001","expiration":20,"type":"If no response","enabled":true},{"number":"1002","expiration":20,"type":"At the same time","enabled":true},{"number":"4366610003","expiration":30,"type":"If no response","enabled":true}],"expiration":25}}'
call PUT "$SY_HTTPS/sipxconfig/rest/my/forward" 200 -u "$USER_NAME:$PIN" \
    -H 'Content-Type: application/json' --data-binary "$SEQUENCE" >/dev/null
call GET "$SY_HTTPS/sipxconfig/rest/my/forward" 200 --digest -u "$USER_NAME:$PIN" \
    -H 'Accept: application/json' >/dev/null
FORWARD_BODY=$(cat "$WORK/call.body")
log "my/forward of subscriber $SUBSCRIBER: ${#FORWARD_BODY} bytes: $FORWARD_BODY"

BUSY=$(background_load)
log "== background CPU load before the runs: ${BUSY}% of $(nproc) cores"

common=(--connections "$CONNS" --duration "$DURATION")
SIPX=(--mode sipx-forward-get --auth digest --user "$USER_NAME" --password "$PIN"
    --server-pid "$SY_PID")
BARE=(--mode hello --server-pid "$BARE_PID")
for ((i = 1; i <= REPEAT; i++)); do
    loadgen "bare-http-hello-$i" --url "$BARE_HTTP" "${BARE[@]}" "${common[@]}"
    loadgen "sipx-http-forward-$i" --url "$SY_HTTP" "${SIPX[@]}" "${common[@]}"
    loadgen "bare-https-hello-$i" --url "$BARE_HTTPS" --cacert "$WORK/bare.pem" "${BARE[@]}" \
        "${common[@]}"
    loadgen "sipx-https-forward-$i" --url "$SY_HTTPS" --cacert "$CERT" "${SIPX[@]}" "${common[@]}"
done

BARE_HTTP_RPS=$(median_of bare-http-hello rps)
BARE_HTTPS_RPS=$(median_of bare-https-hello rps)
SIPX_HTTP_RPS=$(median_of sipx-http-forward rps)
SIPX_HTTPS_RPS=$(median_of sipx-https-forward rps)
HTTP_RATIO=$(ratio "$SIPX_HTTP_RPS" "$BARE_HTTP_RPS")
HTTPS_RATIO=$(ratio "$SIPX_HTTPS_RPS" "$BARE_HTTPS_RPS")
ERRORS=0
{
    echo
    echo "== sipXconfig results: $DURATION s per run, $CONNS connections, loadgen threads $THREADS,"
    echo "   $(nproc) cores shared by server and loadgen, background load ${BUSY}%; Digest SHA-256"
    runs_table
    echo
    echo "medians of $REPEAT: bare HTTP $BARE_HTTP_RPS, my/forward HTTP $SIPX_HTTP_RPS," \
        "bare HTTPS $BARE_HTTPS_RPS, my/forward HTTPS $SIPX_HTTPS_RPS req/s"
    echo "GET my/forward (JSON, Digest) / bare hyper, HTTP: $HTTP_RATIO (target >= 0.4)" \
        "$(verdict "$HTTP_RATIO" 0.4 '>=')"
    echo "GET my/forward (JSON, Digest) / bare hyper, HTTPS: $HTTPS_RATIO (target >= 0.4)" \
        "$(verdict "$HTTPS_RATIO" 0.4 '>=')"
    echo "errors in all runs: $ERRORS"
    echo "JSON lines: $RESULTS"
}
if ((ERRORS > 0)); then
    log "some requests failed: see first_error in $RESULTS"
    exit 1
fi
