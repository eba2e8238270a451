#!/usr/bin/env bash
# Ensures the nats-server binary exists for the @microts/nats fault tests, which start their own
# server (packages/testing/src/servers/nats.ts) on a free loopback port. Idempotent. The shared
# NATS on 127.0.0.1:4222 used by the other tests is provided by the machine; this script never
# starts, stops or reconfigures it.
set -euo pipefail

if [ -x "${NATS_SERVER_BIN:-/usr/sbin/nats-server}" ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Don't let the package start a system service that would hold port 4222.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends nats-server >/dev/null
[ -x /usr/sbin/nats-server ]
