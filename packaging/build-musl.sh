#!/usr/bin/env bash
# Builds a fully static switchyard for x86_64-unknown-linux-musl and checks that it is static.
# Installs what is missing first: the rustup target and Debian's musl-tools (musl-gcc compiles the
# bundled SQLite and ring). Prints the binary's path on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx "$target"; then
  echo "build-musl: adding the rustup target $target"
  rustup target add "$target"
fi
if ! command -v musl-gcc >/dev/null; then
  echo "build-musl: installing musl-tools (musl-gcc)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q musl-tools
fi
for tool in file ldd; do
  command -v "$tool" >/dev/null || { echo "build-musl: $tool is missing" >&2; exit 1; }
done

# musl targets link the C runtime statically by default; say so anyway, so a changed default or a
# stray RUSTFLAGS cannot quietly produce a dynamic binary.
export CC_x86_64_unknown_linux_musl=musl-gcc
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=+crt-static"
cargo build --release --locked --target "$target" --bin switchyard

bin="target/$target/release/switchyard"
kind=$(file -b "$bin")
echo "build-musl: $kind"
case "$kind" in
  *"statically linked"* | *"static-pie linked"*) ;;
  *) echo "build-musl: $bin is not statically linked" >&2; exit 1 ;;
esac
# ldd exits non-zero and says "not a dynamic executable" (or "statically linked") for a static one.
if ldd_out=$(ldd "$bin" 2>&1); then
  case "$ldd_out" in
    *"statically linked"*) ;;
    *) echo "build-musl: ldd lists shared libraries:" >&2; echo "$ldd_out" >&2; exit 1 ;;
  esac
else
  case "$ldd_out" in
    *"not a dynamic executable"*) ;;
    *) echo "build-musl: unexpected ldd output: $ldd_out" >&2; exit 1 ;;
  esac
fi
echo "build-musl: static, $(stat -c %s "$bin") bytes"
echo "$bin"
