#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, then runs every check and test.
# This is the project's one test command (README.md); CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Real clients the integration tests drive: curl, openssl, Perl LWP with RPC::XML, Python with
# requests and httplib2, Node with axios-digest-auth and @foxglove/xmlrpc, and headless Chromium
# through chromedriver for the admin page (those tests fail, never skip, without it).
apt_packages=(curl openssl ca-certificates python3-pip libwww-perl liblwp-protocol-https-perl librpc-xml-perl
  chromium chromium-driver)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
# Node and npm for the n8n-style transport test (tests/clients/node runs `npm ci` itself). Checked
# by command: a NodeSource node conflicts with Debian's npm package, so only install when absent.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi
python3 -c 'import requests, httplib2' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check requests httplib2 \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages requests httplib2
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# Unit tests and the integration-test binary (the examples are benchmark tools, linted above).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s += $1} END {print s + 0}')
echo "tests: $passed passed, $failed failed"
exit "$status"
