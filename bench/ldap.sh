#!/usr/bin/env bash
# switchyard load benchmark for the LDAP address book: `(cn=ali*)` searches on one LDAPS
# connection over a domain of BENCH_LDAP_ENTRIES subscribers, with the bare hyper ceiling in the
# same run for reference.
#
#   bench/ldap.sh
#
# Builds release binaries, starts the bare hyper ceiling and switchyard (fresh data directory,
# LDAPS on 127.0.0.1:0), makes a customer and a domain through /api/, fills the domain through
# POST /api/subscribers/ (examples/loadgen.rs): BENCH_LDAP_MATCHES subscribers named ali-... and
# the rest user-..., then runs examples/ldapload.rs: a bind as one of them, then sequential
# searches, each waiting for its SearchResultDone, BENCH_REPEAT times interleaved with a bare
# hyper HTTPS run. The target is >= 5,000 searches/s on one connection.
#
# Knobs (environment):
#   BENCH_LDAP_ENTRIES     subscribers in the domain (default 50000)
#   BENCH_LDAP_MATCHES     how many of them (cn=ali*) matches (default 1000)
#   BENCH_LDAP_SIZE_LIMIT  the searches' size limit (default 50: a type-ahead lookup)
#   BENCH_DURATION         seconds per run (default 4)
#   BENCH_REPEAT           repetitions; the median is used (default 3)
#   BENCH_OUT              directory for the JSON lines (default bench/out)
#   BENCH_NO_BUILD=1       reuse the release binaries already built
set -euo pipefail

cd "$(dirname "$0")/.."
ENTRIES=${BENCH_LDAP_ENTRIES:-50000}
MATCHES=${BENCH_LDAP_MATCHES:-1000}
SIZE_LIMIT=${BENCH_LDAP_SIZE_LIMIT:-50}
DURATION=${BENCH_DURATION:-4}
REPEAT=${BENCH_REPEAT:-3}
THREADS=1
OUT_DIR=${BENCH_OUT:-bench/out}
BIN=${CARGO_TARGET_DIR:-target}/release
EXAMPLES=$BIN/examples
SERVER_LIFETIME=900
DOMAIN=ldap.bench.example.com
SY_EXTRA_ARGS=(--ldaps-listen 127.0.0.1:0)

# shellcheck source=bench/lib.sh
source bench/lib.sh

build_release
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    cargo build --release --example ldapload
fi
machine_info
start_servers
LDAPS=$(wait_for_url "$WORK/switchyard.out" ldaps)
LDAPS=${LDAPS#ldaps://}
mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/ldap-$(date -u +%Y%m%dT%H%M%SZ).jsonl

log "== set-up: customer contact, customer, domain $DOMAIN"
CONTACT=$(api_post /api/customercontacts/ '{"email":"l@example.com","reseller_id":1}')
CUSTOMER=$(api_post /api/customers/ \
    "{\"contact_id\":$CONTACT,\"status\":\"active\",\"type\":\"sipaccount\",\"billing_profile_id\":1}")
api_post /api/domains/ "{\"domain\":\"$DOMAIN\",\"reseller_id\":1}" >/dev/null
SY_TLS=(--url "$SY_HTTPS" --cacert "$CERT" --server-pid "$SY_PID")
CREATE=(--mode c5-create --customer "$CUSTOMER" --domain "$DOMAIN" --connections 64 --duration 600)
loadgen ldap-fill-ali "${SY_TLS[@]}" "${CREATE[@]}" --prefix ali --total "$MATCHES"
loadgen ldap-fill-user "${SY_TLS[@]}" "${CREATE[@]}" --prefix user --total $((ENTRIES - MATCHES))
ONE=$(jget "$(result ldap-fill-ali)" first_created)
USERNAME=$(api_get "/api/subscribers/$ONE" | sed -n 's/.*"username" *: *"\([^"]*\)".*/\1/p' | head -1)
log "== $ENTRIES subscribers in $DOMAIN; binding as $USERNAME@$DOMAIN (SIP password)"

BUSY=$(background_load)
log "== background CPU load before the runs: ${BUSY}% of $(nproc) cores"

BASE="ou=addressbook,dc=${DOMAIN//./,dc=}"
for ((i = 1; i <= REPEAT; i++)); do
    loadgen "bare-https-hello-$i" --url "$BARE_HTTPS" --cacert "$WORK/bare.pem" --mode hello \
        --server-pid "$BARE_PID" --connections 1 --duration "$DURATION"
    log "-- ldap-search-$i"
    line=$("$EXAMPLES/ldapload" --label "ldap-search-$i" --addr "$LDAPS" --cacert "$CERT" \
        --bind-dn "$USERNAME@$DOMAIN" --password p --base "$BASE" --filter '(cn=ali*)' \
        --size-limit "$SIZE_LIMIT" --duration "$DURATION")
    printf '%s\n' "$line" >>"$RESULTS"
    printf -v "R_ldap_search_$i" '%s' "$line"
done

SEARCH_RPS=$(median_of ldap-search rps)
BARE_RPS=$(median_of bare-https-hello rps)
{
    echo
    echo "== LDAP results: $ENTRIES entries, (cn=ali*) matches $MATCHES, size limit $SIZE_LIMIT,"
    echo "   one LDAPS connection, $DURATION s per run, background load ${BUSY}%"
    for ((i = 1; i <= REPEAT; i++)); do
        echo "ldap-search-$i: $(result "ldap-search-$i")"
    done
    echo "medians of $REPEAT: searches $SEARCH_RPS/s; bare hyper HTTPS GET / on one connection $BARE_RPS/s" \
        "(ratio $(ratio "$SEARCH_RPS" "$BARE_RPS"))"
    echo "(cn=ali*) searches per second on one connection: $SEARCH_RPS (target >= 5000)" \
        "$(verdict "$SEARCH_RPS" 5000 '>=')"
    echo "switchyard peak RSS: $(kb "$SY_PID" VmHWM) kB"
} | tee -a "$OUT_DIR/ldap-summary.txt"
