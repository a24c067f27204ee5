#!/usr/bin/env bash
# Fuzzes every parser target in fuzz/ with AFL++ (cargo afl, stable Rust) for SECONDS_PER_TARGET
# seconds each, one after another, starting from fuzz/corpus/<target>/. Prints each target's
# figures from afl-fuzz's fuzzer_stats and fails when any target found a crash or a hang,
# printing the inputs and what the target says when run on them.
#   bash fuzz/run.sh 15     # the short run scripts/test.sh makes
#   bash fuzz/run.sh 600    # the long run (about 95 minutes for the nine targets)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz/run.sh SECONDS_PER_TARGET}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# cargo-afl builds AFL++ from the sources it bundles, which needs a C compiler and make.
if ! command -v cc >/dev/null || ! command -v make >/dev/null; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q build-essential
fi
afl_version=0.18.2
if ! cargo afl --version 2>/dev/null | grep -q "^cargo-afl $afl_version "; then
  cargo install cargo-afl --version "$afl_version" --locked
fi
# AFL++ and its runtime, once per Rust toolchain (installing cargo-afl usually did it already;
# then this answers that it is built, which is fine).
cargo afl config --build >/dev/null 2>&1 || true
afl_help=$(cargo afl fuzz -h 2>&1 || true)
grep -q 'afl-fuzz' <<<"$afl_help" || { echo "fuzz: AFL++ is not usable: $afl_help"; exit 1; }

started=$SECONDS
CARGO_INCREMENTAL=0 cargo afl build --release --locked --bins
echo "fuzz: instrumented build took $((SECONDS - started)) s"

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^switchyard-fuzz$')
out=target/afl
found=0
mkdir -p "$out"
summary="$out/summary.txt"
printf '%-15s %6s %11s %9s %6s %8s %6s\n' target secs executions execs/s corpus crashes hangs >"$summary"
for target in $targets; do
  rm -rf "${out:?}/$target"
  mkdir -p "$out/$target"
  # No CPU binding (the machine is shared), no UI, no core-dump pattern check (containers cannot
  # set it); -t: a generous per-input limit so a loaded machine is not taken for a hang.
  AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
    cargo afl fuzz -V "$seconds" -t 2000 -i "corpus/$target" -o "$out/$target" \
    "target/release/$target" >"$out/$target.log" 2>&1 ||
    { echo "fuzz: afl-fuzz failed on $target:"; tail -n 30 "$out/$target.log"; exit 1; }
  stats="$out/$target/default/fuzzer_stats"
  stat() { sed -n "s/^$1 *: *//p" "$stats"; }
  crashes=$(find "$out/$target/default/crashes" -type f -name 'id:*' | wc -l)
  hangs=$(find "$out/$target/default/hangs" -type f -name 'id:*' | wc -l)
  printf '%-15s %6s %11s %9s %6s %8s %6s\n' "$target" "$(stat run_time)" "$(stat execs_done)" \
    "$(stat execs_per_sec)" "$(stat corpus_count)" "$crashes" "$hangs" | tee -a "$summary"
  for input in "$out/$target"/default/crashes/id:* "$out/$target"/default/hangs/id:*; do
    [ -e "$input" ] || continue
    found=$((found + 1))
    echo "fuzz: $target: $input"
    od -A d -c "$input" | head -n 20
    echo "  the target on it says:"
    timeout 10 "target/release/$target" <"$input" 2>&1 | tail -n 8 | sed 's/^/    /' || true
  done
done
echo "fuzz: summary ($seconds s per target)"
cat "$summary"
if [ "$found" -gt 0 ]; then
  echo "fuzz: $found crashing or hanging inputs"
  exit 1
fi
echo "fuzz: no crash, no hang in $((SECONDS - started)) s"
