#!/usr/bin/env bash
# switchyard load benchmark for the sipXconfig-style SOAP API: SOAP findUser by user name, in the
# same run as the bare hyper ceiling.
#
#   bench/sipx_soap.sh
#
# Builds release binaries, starts the bare hyper ceiling (examples/bare_hyper.rs) and switchyard
# (fresh data directory from mktemp, plain HTTP and HTTPS listeners on 127.0.0.1), adds one user
# with SOAP addUser (curl, Basic over HTTPS; aliases, groups and permissions, so findUser reads
# every list) and BENCH_USERS - 1 more, then with examples/loadgen.rs, interleaved and repeated:
# bare hyper GET / and findUser by user name, over plain HTTP (Digest SHA-256, a reused nonce)
# and over HTTPS (preemptive Basic). Prints a table and the ratios with verdicts (target:
# findUser >= 0.25 x ceiling). All load goes to 127.0.0.1; every run is bounded in time; servers
# are stopped on exit.
#
# Knobs (environment):
#   BENCH_DURATION         seconds per load run (default 4)
#   BENCH_CONNECTIONS      keep-alive connections per run (default 32)
#   BENCH_REPEAT           interleaved repetitions; medians are used (default 3)
#   BENCH_USERS            users in the database (default 1000)
#   BENCH_LOADGEN_THREADS  load generator threads (default 1)
#   BENCH_OUT              directory for the JSON lines (default bench/out)
#   BENCH_NO_BUILD=1       reuse the release binaries already built
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-4}
CONNS=${BENCH_CONNECTIONS:-32}
REPEAT=${BENCH_REPEAT:-3}
USERS=${BENCH_USERS:-1000}
THREADS=${BENCH_LOADGEN_THREADS:-1}
OUT_DIR=${BENCH_OUT:-bench/out}
BIN=${CARGO_TARGET_DIR:-target}/release
EXAMPLES=$BIN/examples
SERVER_LIFETIME=900
NS=http://www.sipfoundry.org/2007/08/21/ConfigService

# shellcheck source=bench/lib.sh
source bench/lib.sh

build_release
machine_info
start_servers

BUSY=$(background_load)
log "== background CPU load before the runs: ${BUSY}% of $(nproc) cores"
mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/sipx-soap-$(date -u +%Y%m%dT%H%M%SZ).jsonl

# add_user NAME EXTRA: SOAP addUser over HTTPS with Basic; anything but 200 stops the run.
add_user() {
    local body status
    body="<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>
<c:AddUser xmlns:c=\"$NS\"><c:user><c:userName>$1</c:userName>$2</c:user><c:pin>1234</c:pin>
</c:AddUser></s:Body></s:Envelope>"
    status=$(curl -sS -o "$WORK/soap.body" -w '%{http_code}' --cacert "$CERT" -u "root:$PASSWORD" \
        -H 'Content-Type: text/xml' --data-binary "$body" \
        "$SY_HTTPS/sipxconfig/services/UserService") || status=000
    if [[ $status != 200 ]]; then
        log "addUser $1 failed: HTTP $status"
        cat "$WORK/soap.body" >&2 || true
        exit 1
    fi
}
add_user benchuser "<c:lastName>Bench</c:lastName><c:firstName>Mark</c:firstName>\
<c:aliases>7001</c:aliases><c:aliases>7002</c:aliases><c:emailAddress>b@example.org</c:emailAddress>\
<c:groups>bench</c:groups><c:groups>sales</c:groups><c:permissions>Voicemail</c:permissions>"
log "== adding $((USERS - 1)) more users"
for ((i = 2; i <= USERS; i++)); do
    add_user "user$i" "<c:groups>bench</c:groups>"
done

common=(--connections "$CONNS" --duration "$DURATION")
FIND=(--mode sipx-find-user --user-name benchuser --server-pid "$SY_PID")
BARE=(--server-pid "$BARE_PID")
for ((i = 1; i <= REPEAT; i++)); do
    loadgen "bare-http-hello-$i" --url "$BARE_HTTP" --mode hello "${BARE[@]}" "${common[@]}"
    loadgen "soap-http-find-$i" --url "$SY_HTTP" "${FIND[@]}" --auth digest "${common[@]}"
    loadgen "bare-https-hello-$i" --url "$BARE_HTTPS" --cacert "$WORK/bare.pem" --mode hello \
        "${BARE[@]}" "${common[@]}"
    loadgen "soap-https-find-$i" --url "$SY_HTTPS" --cacert "$CERT" "${FIND[@]}" --auth basic \
        "${common[@]}"
done

BARE_HTTP_RPS=$(median_of bare-http-hello rps)
BARE_HTTPS_RPS=$(median_of bare-https-hello rps)
FIND_HTTP_RPS=$(median_of soap-http-find rps)
FIND_HTTPS_RPS=$(median_of soap-https-find rps)
HTTP_RATIO=$(ratio "$FIND_HTTP_RPS" "$BARE_HTTP_RPS")
HTTPS_RATIO=$(ratio "$FIND_HTTPS_RPS" "$BARE_HTTPS_RPS")
ERRORS=0
{
    echo
    echo "== sipXconfig SOAP results: $DURATION s per run, $CONNS connections, loadgen threads $THREADS,"
    echo "   $(nproc) cores shared by server and loadgen, background load ${BUSY}%, $USERS users"
    runs_table
    echo
    echo "medians of $REPEAT: bare HTTP $BARE_HTTP_RPS, findUser HTTP $FIND_HTTP_RPS," \
        "bare HTTPS $BARE_HTTPS_RPS, findUser HTTPS $FIND_HTTPS_RPS req/s"
    echo "SOAP findUser (Digest SHA-256) / bare hyper, HTTP: $HTTP_RATIO (target >= 0.25)" \
        "$(verdict "$HTTP_RATIO" 0.25 '>=')"
    echo "SOAP findUser (Basic) / bare hyper, HTTPS: $HTTPS_RATIO (target >= 0.25)" \
        "$(verdict "$HTTPS_RATIO" 0.25 '>=')"
    echo "errors in all runs: $ERRORS"
} | tee -a "$OUT_DIR/sipx-soap-report.txt"
log "JSON lines: $RESULTS"
