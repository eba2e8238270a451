#!/usr/bin/env bash
# Ensures an etcd server binary exists for the @microts/etcd integration tests. Idempotent.
# The tests start their own etcd (packages/testing/src/servers/etcd.ts) on free loopback ports;
# no system etcd service is needed, and the one Debian's package may start is stopped here so it
# does not hold 2379 with an unexpected configuration.
set -euo pipefail

if command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's package is "etcd-server" (binary /usr/bin/etcd); don't let it start a service.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]
