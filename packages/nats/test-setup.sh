#!/usr/bin/env bash
# Ensures the nats-server binary exists for the @microts/nats fault tests, which start their own
# server (packages/testing/src/servers/nats.ts) on a free loopback port. Idempotent. The shared
# NATS on 127.0.0.1:4222 used by the other tests is provided by the machine; this script never
# starts, stops or reconfigures it.
set -euo pipefail
exec "$(dirname "$0")/../../scripts/ensure-debian-package.sh" nats-server "${NATS_SERVER_BIN:-/usr/sbin/nats-server}"
