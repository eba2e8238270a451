#!/usr/bin/env bash
# Usage: scripts/ensure-debian-package.sh <debian-package> <binary>
#
# Makes sure <binary> exists, installing <debian-package> from apt when it does not. Idempotent:
# does nothing when <binary> is already there. <binary> is either a path (/usr/lib/rabbitmq/bin/...),
# which must be executable, or a command name, looked up on the PATH and in /usr/sbin, /usr/bin,
# /sbin and /bin (root's PATH is not always the one a test runner has).
#
# Installing runs `apt-get update` at most once per hour across calls (so several packages'
# test-setup.sh in one test run share one update), then
# `apt-get install -y --no-install-recommends <debian-package>`, with a policy-rc.d that forbids
# starting services: packages such as nats-server or rabbitmq-server would otherwise start a system
# service holding the standard port with a default configuration. The tests start their own servers
# on free loopback ports; this script never starts, stops or reconfigures a running service.
# Needs root when it has to install. Exits non-zero when <binary> is still missing afterwards.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 <debian-package> <binary>" >&2
  exit 2
fi
package=$1
binary=$2

have_binary() {
  case "$binary" in
    */*) [ -x "$binary" ] ;;
    *)
      command -v "$binary" >/dev/null 2>&1 && return 0
      local dir
      for dir in /usr/sbin /usr/bin /sbin /bin; do
        [ -x "$dir/$binary" ] && return 0
      done
      return 1
      ;;
  esac
}

if have_binary; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "$0: $binary is missing and installing $package needs root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
stamp="${TMPDIR:-/tmp}/microts-apt-update.stamp"
if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
  apt-get update -qq
  touch "$stamp"
fi

# Don't let the package start a system service (invoke-rc.d consults policy-rc.d; 101 = forbidden).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "$package" >/dev/null

if ! have_binary; then
  echo "$0: installed $package but $binary is still missing" >&2
  exit 1
fi
