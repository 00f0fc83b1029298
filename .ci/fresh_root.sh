#!/usr/bin/env bash
# Proves the README's contract on a clean *machine*, not only a clean clone: a minimal Debian 12 root
# (debootstrap --variant=minbase) gets a clone of the committed tree, then runs the README's set-up and
# test commands in a chroot, as root, as a new user's machine would. Packages once installed by hand on
# the CI host are invisible there, so a package scripts/setup.sh forgets fails the run. Only the bare
# root is cached between runs (SMELT_CI_CACHE); every package the project installs is fetched anew.
# Usage: .ci/fresh_root.sh [SHELL COMMAND run in the clone inside the root]
#   default: scripts/setup.sh && scripts/format.sh --check && scripts/test.sh
# Needs root, debootstrap (mounts, chroot) and Debian's package mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
suite=bookworm
mirror=${SMELT_CI_MIRROR:-http://deb.debian.org/debian}
cache=${SMELT_CI_CACHE:-/var/cache/smelt-ci}
root=${SMELT_CI_ROOT:-$repo/build-fresh-root}
tarball=$cache/debian-$suite-minbase.tar
inside=${1:-scripts/setup.sh && scripts/format.sh --check && scripts/test.sh}

command -v debootstrap >/dev/null || { echo "fresh-root: needs debootstrap (apt-get install debootstrap; .ci/run does)" >&2; exit 2; }

unmount_root() {
  for m in dev/pts dev proc sys; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -R -l "$root/$m"
  done
  return 0
}
remove_root() {
  unmount_root
  # --one-file-system: never follow a mount that failed to come off into the host's /dev or /proc.
  [ -d "$root" ] && rm -rf --one-file-system "$root"
  return 0
}
trap remove_root EXIT
remove_root

if [ ! -f "$tarball" ]; then
  echo "fresh-root: debootstrap $suite (minbase) from $mirror, cached as $tarball"
  mkdir -p "$cache"
  staging=$(mktemp -d "$cache/staging.XXXXXX")
  debootstrap --variant=minbase "$suite" "$staging" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log"; rm -rf --one-file-system "$staging"; exit 1; }
  tar -C "$staging" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
  rm -rf --one-file-system "$staging"
fi
mkdir -p "$root"
tar -C "$root" -xf "$tarball"

# What a standard Debian 12 install has beyond minbase's list: the updates and security suites.
base=${mirror%/debian}
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $base/debian-security $suite-security main
EOF
# This machine's own network set-up, not the project's: name resolution, and the certificate
# authorities its HTTPS egress presents (ca-certificates, installed by setup.sh, adds them to the
# root's store as it would on any machine behind such a proxy).
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/usr/local/share/ca-certificates"
local_cas=$(find /usr/local/share/ca-certificates -name '*.crt' 2>/dev/null | wc -l)
cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true

# The project as a user's clone has it, and shared/ beside it (tests read ../shared/seed).
mkdir -p "$root/work"
git clone --quiet --no-local "$repo" "$root/work/smelt"
[ -d "$repo/../shared" ] && cp -r "$repo/../shared" "$root/work/shared"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"

# A login's plain environment, plus the variables this machine's network needs (proxy, CA bundle).
env_vars=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
  TERM=dumb CI=true)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY NODE_EXTRA_CA_CERTS; do
  [ -n "${!v:-}" ] && env_vars+=("$v=${!v}")
done
# Node trusts its own CA list; with the host's extra CAs it must also read the system store.
[ "$local_cas" -gt 0 ] && [ -z "${NODE_EXTRA_CA_CERTS:-}" ] &&
  env_vars+=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
echo "fresh-root: in a new Debian $suite root: $inside"
chroot "$root" /usr/bin/env -i "${env_vars[@]}" /bin/bash -c "cd /work/smelt && $inside"
