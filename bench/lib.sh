# Shared by bench/run.sh (XML-RPC figures) and bench/c5.sh (C5 /api/ figures); sourced, not run.
#
# Expects, before `start_servers`: BIN, EXAMPLES, THREADS, OUT_DIR and SERVER_LIFETIME set, and
# `set -euo pipefail`. Sets up a fresh data directory and a scratch directory, starts the bare hyper
# ceiling and `switchyard serve` (plain HTTP and HTTPS on 127.0.0.1:0) and stops both on exit.

log() { printf '%s\n' "$*" >&2; }

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
# verdict VALUE TARGET OP: MET or MISSED (OP is >=, <= or <), UNKNOWN without a value.
verdict() {
    awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
        if (v == "" || v == "n/a") { print "UNKNOWN"; exit }
        if (op == ">=") ok = (v + 0 >= t + 0)
        else if (op == "<=") ok = (v + 0 <= t + 0)
        else ok = (v + 0 < t + 0)
        print (ok ? "MET" : "MISSED") }'
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

build_release() {
    if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
        log "== building release binaries"
        # Two invocations, so the switchyard binary is built without the examples'
        # dev-dependency features (hyper's client).
        cargo build --release --bin switchyard
        cargo build --release --example loadgen --example bare_hyper
    fi
}

machine_info() {
    log "== machine"
    log "nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    log "kernel: $(uname -r); rustc: $(rustc --version)"
    log "memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
    log "data dir: $DATA ($(df -T "$DATA" | awk 'NR == 2 {print $2 " on " $1}'))"
    log "switchyard: commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(
        [[ -n $(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]] &&
            echo ' plus uncommitted changes in src/ or Cargo.*')"
}

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

# The /api/ helpers below need start_servers first (SY_HTTPS, CERT, PASSWORD).
# api_post PATH JSON: POST over HTTPS with Basic; prints the id from Location. Anything but 201
# prints the request and the whole response and stops the run.
api_post() {
    local path=$1 body=$2 status location
    status=$(curl -sS -o "$WORK/api.body" -D "$WORK/api.head" -w '%{http_code}' \
        --cacert "$CERT" -u "root:$PASSWORD" -X POST -H 'Content-Type: application/json' \
        --data-binary "$body" "$SY_HTTPS$path") || status=000
    if [[ $status != 201 ]]; then
        log "API call failed: POST $SY_HTTPS$path (Basic, root), body: $body"
        log "response: HTTP $status"
        cat "$WORK/api.head" "$WORK/api.body" >&2 2>/dev/null || true
        exit 1
    fi
    location=$(tr -d '\r' <"$WORK/api.head" | sed -n 's/^[Ll]ocation: *//p')
    printf '%s\n' "${location##*/}"
}
# api_get PATH: GET over HTTPS with Basic; prints the body. Anything but 200 stops the run.
api_get() {
    local path=$1 status
    status=$(curl -sS -o "$WORK/api.body" -D "$WORK/api.head" -w '%{http_code}' \
        --cacert "$CERT" -u "root:$PASSWORD" "$SY_HTTPS$path") || status=000
    if [[ $status != 200 ]]; then
        log "API call failed: GET $SY_HTTPS$path (Basic, root)"
        log "response: HTTP $status"
        cat "$WORK/api.head" "$WORK/api.body" >&2 2>/dev/null || true
        exit 1
    fi
    cat "$WORK/api.body"
}

# start_servers: sets BARE_PID, BARE_HTTP, BARE_HTTPS, SY_PID, SY_HTTP, SY_HTTPS, CERT, PASSWORD
# and exports LOADGEN_PASSWORD; switchyard also gets the array SY_EXTRA_ARGS, if set. Both
# servers give up by themselves after SERVER_LIFETIME seconds, even if the script is killed with
# SIGKILL.
start_servers() {
    [[ -v SY_EXTRA_ARGS ]] || SY_EXTRA_ARGS=()
    "$EXAMPLES/bare_hyper" --cert-out "$WORK/bare.pem" --exit-after "$SERVER_LIFETIME" \
        >"$WORK/bare.out" 2>"$WORK/bare.out.err" &
    BARE_PID=$!
    PIDS+=("$BARE_PID")
    BARE_HTTP=$(wait_for_url "$WORK/bare.out" http)
    BARE_HTTPS=$(wait_for_url "$WORK/bare.out" https)

    PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    SWITCHYARD_ROOT_PASSWORD=$PASSWORD timeout "$SERVER_LIFETIME" "$BIN/switchyard" serve \
        --data-dir "$DATA" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 "${SY_EXTRA_ARGS[@]}" \
        >"$WORK/switchyard.out" 2>"$WORK/switchyard.out.err" &
    local timeout_pid=$!
    PIDS+=("$timeout_pid")
    SY_HTTPS=$(wait_for_url "$WORK/switchyard.out" https)
    SY_HTTP=$(wait_for_url "$WORK/switchyard.out" http)
    SY_PID=$(awk '{print $1}' "/proc/$timeout_pid/task/$timeout_pid/children")
    [[ -n $SY_PID ]] || { log "cannot find the switchyard process"; exit 1; }
    CERT=$DATA/tls/cert.pem
    export LOADGEN_PASSWORD=$PASSWORD
    log "== bare hyper (pid $BARE_PID): $BARE_HTTP $BARE_HTTPS"
    log "== switchyard (pid $SY_PID): $SY_HTTP $SY_HTTPS"
}

# cpu_ticks: busy and total jiffies of all cores so far, from /proc/stat.
cpu_ticks() {
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# loadgen LABEL ARGS...: one run; its JSON line goes to $RESULTS and into R_<LABEL>. The line
# gains "other_cores": cores kept busy during the run by anything but the server and the load
# generator (other work on the machine; a few hundredths is the kernel's own), null for runs
# shorter than half a second.
LABELS=()
loadgen() {
    local label=$1 line before after other
    shift
    log "-- $label"
    before=$(cpu_ticks)
    line=$("$EXAMPLES/loadgen" --label "$label" --threads "$THREADS" "$@")
    after=$(cpu_ticks)
    other=$(awk -v a="$before" -v b="$after" -v n="$(nproc)" \
        -v s="$(jget "$line" server_cores)" -v l="$(jget "$line" loadgen_cores)" 'BEGIN {
        split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
        # Under half a second, jiffies are too coarse to say anything.
        if (t < 50 * n || s == "" || s == "null" || l == "null") { print "null"; exit }
        v = n * (y[1] - x[1]) / t - s - l; printf "%.2f", (v < 0) ? 0 : v }')
    line="${line%\}},\"other_cores\":$other}"
    printf '%s\n' "$line" >>"$RESULTS"
    printf -v "R_${label//-/_}" '%s' "$line"
    LABELS+=("$label")
}
result() { local var="R_${1//-/_}"; printf '%s' "${!var}"; }
# median_of PREFIX KEY: the median of KEY over the runs PREFIX-1 .. PREFIX-$REPEAT.
median_of() {
    local i values=()
    for ((i = 1; i <= REPEAT; i++)); do
        values+=("$(jget "$(result "$1-$i")" "$2")")
    done
    median "${values[@]}"
}
# runs_table: one row per load run so far (LABELS), the columns of loadgen's JSON line; adds the
# runs' errors to ERRORS.
runs_table() {
    local fmt='%-28s %9s %8s %8s %6s %7s %7s %6s %8s\n' label line
    printf "$fmt" run req/s p50_ms p99_ms errors srv_cpu lg_cpu other us/req
    for label in "${LABELS[@]}"; do
        line=$(result "$label")
        printf "$fmt" "$label" "$(show "$line" rps)" "$(show "$line" p50_ms)" "$(show "$line" p99_ms)" \
            "$(show "$line" errors)" "$(show "$line" server_cores)" "$(show "$line" loadgen_cores)" \
            "$(show "$line" other_cores)" "$(show "$line" server_cpu_us_per_ok)"
        ERRORS=$((ERRORS + $(jget "$line" errors)))
    done
}

# kb PID KEY: a /proc/PID/status figure in kB (VmHWM, VmRSS).
kb() { awk -v k="$2" '$1 == k ":" {print $2}' "/proc/$1/status"; }
