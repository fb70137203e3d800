#!/usr/bin/env bash
# Installs the Debian peers the interop suite runs against (test/interop): unbound as the DoT upstream,
# kdig, dig, getdns_query and dnsperf as clients, stubby for side-by-side runs; systemd for `systemd-analyze verify`
# of the packaged unit (test/unit/service-plans.test.ts). Nothing is started: policy-rc.d forbids it, see below.
#
# usage: scripts/install-peers.sh [--force]
#   Without --force, apt is skipped when every peer binary is already present.
#
# Debian's unbound (and stubby) packages start their daemons on port 53 from the postinst. On a CI machine that
# either fails or grabs the port, so while apt runs /usr/sbin/policy-rc.d exits 101 ("action forbidden"), and
# whatever policy-rc.d was there before is put back afterwards, even when apt fails.
set -euo pipefail

packages=(unbound knot-dnsutils bind9-dnsutils getdns-utils dnsperf stubby openssl ca-certificates systemd)
binaries=(unbound kdig dig getdns_query dnsperf stubby unbound-control systemd-analyze)

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,8p' "$0"
      exit 0
      ;;
    *)
      echo "install-peers: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

have_binary() {
  PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1
}

missing=()
for bin in "${binaries[@]}"; do
  have_binary "$bin" || missing+=("$bin")
done

if [ "$force" -eq 0 ] && [ "${#missing[@]}" -eq 0 ]; then
  echo "install-peers: all peers present (${binaries[*]}); skipping apt (use --force to reinstall)"
  exit 0
fi
[ "${#missing[@]}" -eq 0 ] || echo "install-peers: missing: ${missing[*]}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    sudo "$@"
  fi
}
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "install-peers: not root and sudo is not available" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
backup="$policy.dotstub-backup.$$"
had_policy=0
restore_policy() {
  if [ "$had_policy" -eq 1 ]; then
    as_root mv -f "$backup" "$policy"
  else
    as_root rm -f "$policy"
  fi
}

trap restore_policy EXIT
if [ -e "$policy" ] || [ -L "$policy" ]; then
  as_root mv -f "$policy" "$backup"
  had_policy=1
fi
printf '#!/bin/sh\n# written by dotstub scripts/install-peers.sh for the duration of apt-get\nexit 101\n' |
  as_root tee "$policy" >/dev/null
as_root chmod 0755 "$policy"

as_root env DEBIAN_FRONTEND=noninteractive apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

still_missing=()
for bin in "${binaries[@]}"; do
  have_binary "$bin" || still_missing+=("$bin")
done
if [ "${#still_missing[@]}" -ne 0 ]; then
  echo "install-peers: still missing after apt-get install: ${still_missing[*]}" >&2
  exit 1
fi
echo "install-peers: done"
