#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, then runs every check and test, then
# builds the static musl binary and the .deb and checks both (see "Packaging" below).
# This is the project's one test command (README.md); CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Real clients the integration tests drive: curl, openssl, Perl LWP with RPC::XML, Python with
# requests and httplib2, Node with axios-digest-auth and @foxglove/xmlrpc. For the packaging
# checks: file, dpkg-deb (dpkg), systemd-analyze (systemd), debootstrap (a scratch Debian to install
# the package into); packaging/build-musl.sh installs the musl target and musl-tools itself.
# Headless Chromium through chromedriver for the admin page (those tests fail, never skip, without it).
# ldapsearch (ldap-utils) and Python ldap3 for the LDAP address book.
apt_packages=(curl openssl ca-certificates python3-pip libwww-perl liblwp-protocol-https-perl librpc-xml-perl libjson-perl
  python3-zeep libsoap-lite-perl
  file dpkg systemd debootstrap chromium chromium-driver ldap-utils)
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
# zeep comes from Debian (python3-zeep) for the system python; a python3 elsewhere on PATH
# (pyenv, a venv) gets it from pip.
python3 -c 'import requests, httplib2, ldap3, zeep' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check requests httplib2 ldap3 zeep \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages requests httplib2 ldap3 zeep
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# cargo-deb builds the .deb; installed when missing, at the version the packaging was made with.
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install cargo-deb --version 3.8.0 --locked
fi
# cargo-deny checks licenses, duplicate and wildcard versions, and sources against deny.toml.
# Building it takes minutes, so it builds in the background while the tests run.
deny_version=0.20.2
deny_log=$(mktemp)
deny_install=
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $deny_version"; then
  cargo install cargo-deny --version "$deny_version" --locked >"$deny_log" 2>&1 &
  deny_install=$!
fi

cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check # the fuzz targets (fuzz/, its own crate)
cargo clippy --all-targets -- -D warnings
# The flood tests hold thousands of connections on both ends: the soft limit on open files goes
# up to the hard one (floods.rs fails with a clear message when it is still too low).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Unit tests and the integration-test binary (the examples are benchmark tools, linted above).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s += $1} END {print s + 0}')

# Packaging: the static musl binary, a real digest-authenticated call against it, the .deb.
# Each check below counts in the summary; a failed step makes the checks that need it fail too.
pkg_started=$SECONDS
pkg_passed=0
pkg_failed=0
check_label=packaging
check() {
  local name=$1
  shift
  local started=$SECONDS
  if "$@"; then
    echo "$check_label: ok: $name ($((SECONDS - started)) s)"
    pkg_passed=$((pkg_passed + 1))
  else
    echo "$check_label: FAILED: $name ($((SECONDS - started)) s)"
    pkg_failed=$((pkg_failed + 1))
  fi
}
scratch=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$scratch" "$log"
}
trap cleanup EXIT
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
musl_bin=target/x86_64-unknown-linux-musl/release/switchyard

build_musl() { bash packaging/build-musl.sh; }

is_static() {
  local kind ldd_out
  kind=$(file -b "$1") || return 1
  echo "  file: $kind"
  case "$kind" in *"statically linked"* | *"static-pie linked"*) ;; *) return 1 ;; esac
  # glibc's ldd answers "not a dynamic executable" (exit 1) or, for static-pie, "statically
  # linked"; either way it must list no library.
  ldd_out=$(ldd "$1" 2>&1) || true
  echo "  ldd: $ldd_out"
  case "$ldd_out" in *"not a dynamic executable"* | *"statically linked"*) ;; *) return 1 ;; esac
  ! grep -q '=>' <<<"$ldd_out"
}

# Starts the static binary on a free loopback port with its own data directory and calls
# listAccounts as root over HTTPS with Digest, with the generated password.
musl_serves_digest_xmlrpc() {
  local data="$scratch/smoke" addr="" password call reply status
  mkdir -p "$data"
  SWITCHYARD_LOG=warn env -u SWITCHYARD_ROOT_PASSWORD -u SWITCHYARD_CONFIG \
    "$musl_bin" serve --config /dev/null --data-dir "$data/dir" --listen 127.0.0.1:0 \
    >"$data/stdout" 2>"$data/stderr" &
  server_pid=$!
  for _ in $(seq 1 200); do
    addr=$(sed -n 's|^switchyard: listening on https://||p' "$data/stdout")
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    echo "  the static binary did not start:"; cat "$data/stdout" "$data/stderr"; return 1
  fi
  password=$(cat "$data/dir/root-password")
  call='<?xml version="1.0"?><methodCall><methodName>listAccounts</methodName><params><param><value><struct></struct></value></param></params></methodCall>'
  reply=$(curl -sS --max-time 20 --cacert "$data/dir/tls/cert.pem" --digest -u "root:$password" \
    -H 'Content-Type: text/xml' --data-binary "$call" "https://$addr/xmlapi/xmlapi") || return 1
  echo "  reply: $reply"
  grep -q '<name>result</name><value><string>OK</string></value>' <<<"$reply" || return 1
  # The credentials mattered: a wrong password is challenged again.
  status=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' --cacert "$data/dir/tls/cert.pem" \
    --digest -u "root:not-$password" --data-binary "$call" "https://$addr/xmlapi/xmlapi") || return 1
  [ "$status" = 401 ] || { echo "  wrong password answered $status"; return 1; }
  "$musl_bin" healthcheck --config /dev/null --data-dir "$data/dir" --listen "$addr" || return 1
  kill -TERM "$server_pid" && wait "$server_pid" || { echo "  unclean exit"; return 1; }
  server_pid=
}

deb=
build_deb() {
  local out
  out=$(cargo deb --target x86_64-unknown-linux-musl --no-build --output target/debian/ 2>&1) || {
    echo "$out"; return 1; }
  deb=$(tail -n 1 <<<"$out")
  echo "  $deb ($(stat -c %s "$deb") bytes)"
  [ -f "$deb" ]
}

deb_control_is_complete() {
  local info
  info=$(dpkg-deb -I "$deb") || return 1
  echo "$info" | sed 's/^/  /'
  grep -q "^ Package: switchyard$" <<<"$info" &&
    grep -q "^ Version: $version-1$" <<<"$info" &&
    grep -q "^ Depends: adduser$" <<<"$info" &&
    # The synopsis is the whole Cargo.toml description (cargo-deb wraps one over 79 characters).
    [ "$(dpkg-deb -f "$deb" Description | head -n 1)" = \
      "$(sed -n 's/^description = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)" ] &&
    for script in postinst postrm prerm conffiles; do
      grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? +$script( |$)" <<<"$info" ||
        { echo "  no $script"; return 1; }
    done &&
    dpkg-deb -I "$deb" conffiles | grep -qx /etc/switchyard/switchyard.toml &&
    # cargo-deb filled the #DEBHELPER# tokens with the unit's enable/start/stop steps.
    dpkg-deb -I "$deb" postinst | grep -q 'deb-systemd-helper enable switchyard.service' &&
    dpkg-deb -I "$deb" postinst | grep -q 'deb-systemd-invoke $_dh_action switchyard.service' &&
    dpkg-deb -I "$deb" prerm | grep -q 'deb-systemd-invoke stop switchyard.service' &&
    ! dpkg-deb -I "$deb" postinst | grep -q '#DEBHELPER#' &&
    ! dpkg-deb -I "$deb" postrm | grep -q '#DEBHELPER#'
}

deb_contents_are_complete() {
  local listing
  listing=$(dpkg-deb -c "$deb") || return 1
  echo "$listing" | sed 's/^/  /'
  grep -qE '^-rwxr-xr-x .* \./usr/bin/switchyard$' <<<"$listing" &&
    grep -qE '^-rw-r--r-- .* \./usr/lib/systemd/system/switchyard\.service$' <<<"$listing" &&
    grep -qE '^-rw-r--r-- .* \./etc/switchyard/switchyard\.toml$' <<<"$listing"
}

unpacked_binary_runs() {
  local root="$scratch/unpacked" got
  dpkg-deb -x "$deb" "$root" || return 1
  got=$("$root/usr/bin/switchyard" --version) || return 1
  echo "  $got"
  [ "$got" = "switchyard $version" ] || return 1
  is_static "$root/usr/bin/switchyard" &&
    cmp packaging/switchyard.toml "$root/etc/switchyard/switchyard.toml" &&
    "$root/usr/bin/switchyard" print-config --config "$root/etc/switchyard/switchyard.toml" >/dev/null
}

# systemd's own checks of the packaged unit, pointed at the unpacked binary: no warnings at all,
# and an exposure score of at most 2.0 (lower is more confined; 10 is unconfined).
unit_is_valid_and_confined() {
  local unit="$scratch/unit/switchyard.service" out
  mkdir -p "$scratch/unit"
  sed "s|/usr/bin/switchyard|$scratch/unpacked/usr/bin/switchyard|g" \
    "$scratch/unpacked/usr/lib/systemd/system/switchyard.service" >"$unit"
  out=$(systemd-analyze verify "$unit" 2>&1) || { echo "$out"; return 1; }
  [ -z "$out" ] || { echo "  $out"; return 1; }
  systemd-analyze security --offline=true --threshold=20 "$unit" | tail -n 1
  systemd-analyze security --offline=true --threshold=20 "$unit" >/dev/null 2>&1
}

# A real install, start, remove and purge, in a minimal Debian of this machine's release made with
# debootstrap under target/ (kept between runs). No systemd runs there, so the service is started
# by hand, as its user, with the packaged configuration: the maintainer scripts must have made the
# user and the data directory, remove must keep the data, and purge must delete it.
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
deb_installs_keeps_data_on_remove_and_purges() {
  local root="$PWD/target/debian-root" out uid gid addr="" pid suite
  [ "$(id -u)" -eq 0 ] || { echo "  needs root (debootstrap, chroot)"; return 1; }
  suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
  if [ ! -e "$root/.complete" ]; then
    rm -rf "$root"
    debootstrap --variant=minbase --include=adduser "$suite" "$root" \
      >"$scratch/debootstrap.log" 2>&1 || { tail -n 20 "$scratch/debootstrap.log"; return 1; }
    touch "$root/.complete"
  fi
  in_root dpkg --purge switchyard >/dev/null 2>&1 || true # what an interrupted run left
  cp "$deb" "$root/tmp/switchyard.deb"
  out=$(in_root dpkg -i /tmp/switchyard.deb 2>&1) || { echo "$out"; return 1; }
  echo "$out" | sed 's/^/  /'
  grep -q "runuser -u switchyard -- switchyard serve" <<<"$out" || return 1
  uid=$(in_root id -u switchyard) && gid=$(in_root id -g switchyard) || { echo "  no user"; return 1; }
  [ "$(in_root stat -c '%U:%G %a' /var/lib/switchyard)" = "switchyard:switchyard 700" ] ||
    { echo "  /var/lib/switchyard: $(in_root stat -c '%U:%G %a' /var/lib/switchyard)"; return 1; }
  chroot --userspec="$uid:$gid" --groups="$gid" "$root" \
    env -i PATH=/usr/bin:/bin SWITCHYARD_LOG=warn /usr/bin/switchyard serve --listen 127.0.0.1:0 \
    >"$scratch/installed.out" 2>&1 &
  pid=$!
  server_pid=$pid
  for _ in $(seq 1 200); do
    addr=$(sed -n 's|^switchyard: listening on https://||p' "$scratch/installed.out")
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$scratch/installed.out"; return 1; }
  chroot --userspec="$uid:$gid" --groups="$gid" "$root" \
    env -i /usr/bin/switchyard healthcheck --listen "$addr" || return 1
  kill -TERM "$pid" && wait "$pid" || { echo "  unclean exit"; return 1; }
  server_pid=
  [ "$(in_root stat -c '%U %a' /var/lib/switchyard/root-password)" = "switchyard 600" ] || return 1
  in_root dpkg --remove switchyard >/dev/null || return 1
  [ -s "$root/var/lib/switchyard/switchyard.db" ] || { echo "  remove deleted the data"; return 1; }
  [ -f "$root/etc/switchyard/switchyard.toml" ] || { echo "  remove deleted the conffile"; return 1; }
  in_root dpkg --purge switchyard >/dev/null || return 1
  [ ! -e "$root/var/lib/switchyard" ] && [ ! -e "$root/etc/switchyard" ] ||
    { echo "  purge left data behind"; return 1; }
  echo "  installed, served $addr as uid $uid, removed (data kept), purged (data gone)"
}

check "static musl build (packaging/build-musl.sh)" build_musl
check "the musl binary is static (file, ldd)" is_static "$musl_bin"
check "the musl binary answers a digest-authenticated XML-RPC call" musl_serves_digest_xmlrpc
check "cargo deb" build_deb
check "dpkg-deb -I: control fields, maintainer scripts, conffile" deb_control_is_complete
check "dpkg-deb -c: binary, unit, configuration" deb_contents_are_complete
check "the unpacked package's binary runs (--version)" unpacked_binary_runs
check "systemd-analyze: the unit is valid and confined" unit_is_valid_and_confined
check "dpkg: install, serve as its own user, remove keeps data, purge deletes it" \
  deb_installs_keeps_data_on_remove_and_purges
echo "packaging: $pkg_passed passed, $pkg_failed failed in $((SECONDS - pkg_started)) s"

# Supply chain (deny.toml) and a short fuzzing run of every parser (fuzz/run.sh; the long run
# is `bash fuzz/run.sh 600`). Counted like the packaging checks.
deny_check() {
  if [ -n "$deny_install" ] && ! wait "$deny_install"; then
    tail -n 30 "$deny_log"; return 1
  fi
  cargo deny --log-level error check licenses bans sources &&
    cargo deny --manifest-path fuzz/Cargo.toml --log-level error check licenses bans sources
}
check_label=reliability
check "cargo deny check licenses bans sources (the appliance, then fuzz/)" deny_check
check "fuzzing: 15 s per parser target, no crash or hang (fuzz/run.sh)" bash fuzz/run.sh 15
rm -f "$deny_log"

echo "tests: $((passed + pkg_passed)) passed, $((failed + pkg_failed)) failed"
if [ "$pkg_failed" -gt 0 ] && [ "$status" -eq 0 ]; then
  status=1
fi
exit "$status"
