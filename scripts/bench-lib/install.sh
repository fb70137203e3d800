#!/usr/bin/env bash
# Installs what scripts/bench runs, from Debian's packages: unbound (the DoT upstream, and a forwarder),
# stubby, Knot Resolver (kresd), dnsperf, kdig, openssl. Skipped when every binary is present.
#
# usage: scripts/bench-lib/install.sh [--force]
#
# Debian's postinst scripts would start unbound, stubby and kresd on port 53. While apt runs,
# /usr/sbin/policy-rc.d exits 101 ("action forbidden"); whatever was there before is put back afterwards,
# also when apt fails or the script is interrupted.
set -euo pipefail

packages=(unbound stubby knot-resolver dnsperf knot-dnsutils openssl ca-certificates iproute2)
binaries=(unbound unbound-control stubby kresd dnsperf kdig openssl ss)

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    *) echo "bench install: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

have_binary() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }

missing=()
for bin in "${binaries[@]}"; do have_binary "$bin" || missing+=("$bin"); done
if [ "$force" -eq 0 ] && [ "${#missing[@]}" -eq 0 ]; then
  echo "bench install: all present (${binaries[*]})"
  exit 0
fi
[ "${#missing[@]}" -eq 0 ] || echo "bench install: missing: ${missing[*]}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "bench install: not root and sudo is not available" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
backup="$policy.dotstub-bench-backup.$$"
had_policy=0
restore_policy() {
  if [ "$had_policy" -eq 1 ]; then as_root mv -f "$backup" "$policy"; else as_root rm -f "$policy"; fi
}
if [ -e "$policy" ] || [ -L "$policy" ]; then
  as_root mv -f "$policy" "$backup"
  had_policy=1
fi
trap restore_policy EXIT
trap 'exit 130' INT TERM
printf '#!/bin/sh\n# written by dotstub scripts/bench-lib/install.sh for the duration of apt-get\nexit 101\n' |
  as_root tee "$policy" >/dev/null
as_root chmod 0755 "$policy"

as_root env DEBIAN_FRONTEND=noninteractive apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

still=()
for bin in "${binaries[@]}"; do have_binary "$bin" || still+=("$bin"); done
if [ "${#still[@]}" -ne 0 ]; then
  echo "bench install: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "bench install: done"
