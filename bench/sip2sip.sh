#!/usr/bin/env bash
# switchyard load benchmark for the SIP2SIP settings API (/settings.phtml) and the CDR import:
# every figure of the SIP2SIP section of BENCHMARKS.md, in the same run as the bare hyper ceiling.
#
#   bench/sip2sip.sh
#
# Builds release binaries, starts the bare hyper ceiling (examples/bare_hyper.rs) and switchyard
# (fresh data directory, plain HTTP and HTTPS on 127.0.0.1), makes a customer, a domain and two
# subscribers through /api/ (curl, Basic over HTTPS), then:
#
#   1. `switchyard cdr import` of one JSON-lines file: BENCH_HISTORY_CDRS records of the measured
#      subscriber over the last 13 days and BENCH_OTHER_CDRS of the other one; the rate is rows
#      per second of wall time, the command's whole run (read, check, one durable commit);
#   2. with examples/loadgen.rs over plain HTTP, Digest (SHA-256, one nonce reused per
#      keep-alive connection, as Python requests does), interleaved with the bare hyper runs:
#      `get_call_forwarding`, `get_history` (the newest 50 of each direction out of the
#      BENCH_HISTORY_CDRS) and `set_call_forwarding` (a POST form whose target changes every call,
#      so each call is a durable change);
#
#   3. the replication journal: BENCH_JOURNAL_ENTRIES entries put for alice by one device (puts of
#      1,000, curl --digest), then `get_journal_entries` as another device polls incrementally
#      (`except_uuid`, `after_id` of the newest entry: the usual answer is "nothing new");
#
# and prints a table with the verdicts (reads >= 0.4 x the ceiling, the journal poll >= 0.3 x,
# import >= 20,000 rows/s).
# All load goes to 127.0.0.1; every run is bounded in time; the servers are stopped on exit.
#
# Knobs (environment):
#   BENCH_DURATION          seconds per load run (default 4)
#   BENCH_CONNECTIONS       keep-alive connections per run (default 32)
#   BENCH_REPEAT            interleaved repetitions of the runs; medians are used (default 3)
#   BENCH_HISTORY_CDRS      records of the measured subscriber (default 10000)
#   BENCH_OTHER_CDRS        records of the other subscriber in the same import (default 90000)
#   BENCH_JOURNAL_ENTRIES   journal entries stored for alice (default 100000)
#   BENCH_LOADGEN_THREADS   load generator threads (default 1)
#   BENCH_OUT               directory for the JSON lines (default bench/out)
#   BENCH_NO_BUILD=1        reuse the release binaries already built
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-4}
CONNS=${BENCH_CONNECTIONS:-32}
REPEAT=${BENCH_REPEAT:-3}
HISTORY_CDRS=${BENCH_HISTORY_CDRS:-10000}
OTHER_CDRS=${BENCH_OTHER_CDRS:-90000}
JOURNAL_ENTRIES=${BENCH_JOURNAL_ENTRIES:-100000}
THREADS=${BENCH_LOADGEN_THREADS:-1}
OUT_DIR=${BENCH_OUT:-bench/out}
BIN=${CARGO_TARGET_DIR:-target}/release
EXAMPLES=$BIN/examples
SERVER_LIFETIME=900
DOMAIN=sip2sip.bench.example
USER_PASSWORD=alice-web-pass
# Room for the whole benchmark journal (the default keeps 10,000 entries an account).
SY_EXTRA_ARGS=(--journal-max-entries $((${BENCH_JOURNAL_ENTRIES:-100000} + 1000)))

# shellcheck source=bench/lib.sh
source bench/lib.sh

build_release
machine_info
start_servers

mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/sip2sip-$(date -u +%Y%m%dT%H%M%SZ).jsonl

log "== set-up: customer, domain, subscribers alice and bob"
CONTACT=$(api_post /api/customercontacts/ '{"email":"s@example.com","reseller_id":1}')
CUSTOMER=$(api_post /api/customers/ \
    "{\"contact_id\":$CONTACT,\"status\":\"active\",\"type\":\"sipaccount\",\"billing_profile_id\":1}")
api_post /api/domains/ "{\"domain\":\"$DOMAIN\",\"reseller_id\":1}" >/dev/null
ALICE=$(api_post /api/subscribers/ "{\"customer_id\":$CUSTOMER,\"domain\":\"$DOMAIN\",
    \"username\":\"alice\",\"password\":\"alice-sip\",\"webpassword\":\"$USER_PASSWORD\",
    \"primary_number\":{\"cc\":1,\"ac\":555,\"sn\":\"0100\"}}")
api_post /api/subscribers/ "{\"customer_id\":$CUSTOMER,\"domain\":\"$DOMAIN\",
    \"username\":\"bob\",\"password\":\"bob-sip\",
    \"primary_number\":{\"cc\":1,\"ac\":555,\"sn\":\"0101\"}}" >/dev/null

# --- CDR import --------------------------------------------------------------------------------
log "== writing $HISTORY_CDRS + $OTHER_CDRS call records"
NOW=$(date -u +%s)
awk -v h="$HISTORY_CDRS" -v o="$OTHER_CDRS" -v now="$NOW" -v d="$DOMAIN" 'BEGIN {
    span = 13 * 86400
    for (i = 0; i < h + o; i++) {
        who = (i < h) ? "alice" : "bob"
        dir = (i % 3 == 0) ? "received" : "placed"
        t = now - 60 - int(i * span / (h + o))
        # strftime is gawk-only; format by hand from the epoch (UTC).
        s = t % 60; m = int(t / 60) % 60; hr = int(t / 3600) % 24; days = int(t / 86400)
        z = days + 719468; era = int(z / 146097); doe = z - era * 146097
        yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
        y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
        mp = int((5 * doy + 2) / 153); dd = doy - int((153 * mp + 2) / 5) + 1
        mm = (mp < 10) ? mp + 3 : mp - 9; if (mm <= 2) y++
        printf "{\"call_id\":\"bench-%d\",\"account\":\"%s@%s\",\"direction\":\"%s\",", i, who, d, dir
        printf "\"remote_party\":\"sip:+1555%07d@%s\",\"display_name\":\"Caller %d\",", i, d, i
        printf "\"start_time\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\",\"duration\":%d,", y, mm, dd, hr, m, s, i % 600
        printf "\"status\":\"200\",\"price\":%.4f}\n", (i % 100) / 1000
    }
}' >"$WORK/cdrs.jsonl"
ROWS=$((HISTORY_CDRS + OTHER_CDRS))
log "== switchyard cdr import ($ROWS rows) beside the running server"
START_NS=$(date +%s%N)
"$BIN/switchyard" cdr import --data-dir "$DATA" "$WORK/cdrs.jsonl" >&2
END_NS=$(date +%s%N)
IMPORT_S=$(awk -v a="$START_NS" -v b="$END_NS" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
IMPORT_RATE=$(awk -v n="$ROWS" -v s="$IMPORT_S" 'BEGIN { printf "%.0f", n / s }')
printf '{"label":"cdr-import","rows":%s,"wall_s":%s,"rows_per_s":%s}\n' \
    "$ROWS" "$IMPORT_S" "$IMPORT_RATE" >>"$RESULTS"

HISTORY=$(curl -sS --digest -u "alice:$USER_PASSWORD" \
    "$SY_HTTP/settings.phtml?action=get_history&realm=$DOMAIN")
PLACED=$(grep -o '"sessionId"' <<<"$HISTORY" | wc -l)
log "get_history answers $(printf '%s' "$HISTORY" | wc -c) bytes with $PLACED calls"
if ((PLACED != 100)); then
    log "get_history did not list 50 placed and 50 received calls: ${HISTORY:0:300}"
    exit 1
fi

# --- journal -----------------------------------------------------------------------------------
log "== putting $JOURNAL_ENTRIES journal entries for alice (device bench-laptop), 1,000 a put"
for ((first = 0; first < JOURNAL_ENTRIES; first += 1000)); do
    awk -v a="$first" -v n=1000 'BEGIN {
        printf "{"
        for (i = a; i < a + n; i++) {
            printf "%s\"m%d\":{\"id\":\"m%d\",\"data\":\"%s%d\"}", (i > a ? "," : ""), i, i,
                "U2FsdGVkX1+vupppZksvRf5pq5g5XjFRlipRkwB10K5ZiG0x4L4j6fQ2PqW0dR7h8mF3Ns9bC1eY", i
        }
        printf "}" }' >"$WORK/journal.json"
    PUT=$(curl -sS --digest -u "alice:$USER_PASSWORD" --data-urlencode uuid=bench-laptop \
        --data-urlencode "data@$WORK/journal.json" \
        "$SY_HTTP/settings.phtml?action=put_journal_entries&realm=$DOMAIN")
    if [[ $PUT != *'"success":true'* ]]; then
        log "put_journal_entries failed: ${PUT:0:300}"
        exit 1
    fi
done
LAST_JOURNAL_ID=$(grep -o '"journal_id":"[0-9]*"' <<<"$PUT" | tail -1 | grep -o '[0-9]*')
JOURNAL_PATH="/settings.phtml?action=get_journal_entries&realm=$DOMAIN&except_uuid=bench-phone&after_id=$LAST_JOURNAL_ID"
log "journal filled up to id $LAST_JOURNAL_ID; the poll is $JOURNAL_PATH"

BUSY=$(background_load)
log "== background CPU load before the runs: ${BUSY}% of $(nproc) cores"

# --- runs ------------------------------------------------------------------------------------
common=(--connections "$CONNS" --duration "$DURATION")
AS_ALICE=(--url "$SY_HTTP" --server-pid "$SY_PID" --user alice --password "$USER_PASSWORD")
for ((i = 1; i <= REPEAT; i++)); do
    loadgen "bare-http-hello-$i" --url "$BARE_HTTP" --mode hello --server-pid "$BARE_PID" \
        "${common[@]}"
    loadgen "sip2sip-get-forwarding-$i" "${AS_ALICE[@]}" --mode sip2sip-get \
        --path "/settings.phtml?action=get_call_forwarding&realm=$DOMAIN" "${common[@]}"
    loadgen "sip2sip-get-history-$i" "${AS_ALICE[@]}" --mode sip2sip-get \
        --path "/settings.phtml?action=get_history&realm=$DOMAIN" "${common[@]}"
    loadgen "sip2sip-set-forwarding-$i" "${AS_ALICE[@]}" --mode sip2sip-set \
        --path "/settings.phtml?realm=$DOMAIN" "${common[@]}"
    loadgen "sip2sip-journal-poll-$i" "${AS_ALICE[@]}" --mode sip2sip-get \
        --path "$JOURNAL_PATH" "${common[@]}"
done
FORWARD=$(curl -sS --digest -u "alice:$USER_PASSWORD" \
    "$SY_HTTP/settings.phtml?action=get_call_forwarding&realm=$DOMAIN")
log "forwarding after the runs: $FORWARD"

# --- report ----------------------------------------------------------------------------------
BARE=$(median_of bare-http-hello rps)
GETF=$(median_of sip2sip-get-forwarding rps)
GETH=$(median_of sip2sip-get-history rps)
SETF=$(median_of sip2sip-set-forwarding rps)
POLL=$(median_of sip2sip-journal-poll rps)
ERRORS=0
{
    echo
    echo "== SIP2SIP results: $DURATION s per run, $CONNS connections, plain HTTP, Digest SHA-256"
    echo "   with a reused nonce; loadgen threads $THREADS; $(nproc) cores shared by server and"
    echo "   loadgen; background load ${BUSY}%"
    runs_table
    echo
    echo "medians of $REPEAT (req/s): bare hyper $BARE, get_call_forwarding $GETF," \
        "get_history $GETH, set_call_forwarding $SETF"
    R1=$(ratio "$GETF" "$BARE")
    R2=$(ratio "$GETH" "$BARE")
    R3=$(ratio "$SETF" "$BARE")
    echo "get_call_forwarding / bare hyper: $R1 (target >= 0.4) $(verdict "$R1" 0.4 '>=')"
    echo "get_history ($HISTORY_CDRS CDRs) / bare hyper: $R2 (target >= 0.4) $(verdict "$R2" 0.4 '>=')"
    echo "set_call_forwarding (durable) / bare hyper: $R3 (no target; reported)"
    R4=$(ratio "$POLL" "$BARE")
    echo "get_journal_entries incremental poll ($JOURNAL_ENTRIES entries stored) / bare hyper:" \
        "$R4 (target >= 0.3) $(verdict "$R4" 0.3 '>=')"
    echo "cdr import: $ROWS rows in $IMPORT_S s = $IMPORT_RATE rows/s durable" \
        "(target >= 20000) $(verdict "$IMPORT_RATE" 20000 '>=')"
    echo "errors in all runs: $ERRORS"
    echo "JSON lines: $RESULTS"
}
if ((ERRORS > 0)); then
    log "some requests failed: see first_error in $RESULTS"
    exit 1
fi
