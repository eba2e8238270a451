#!/usr/bin/env bash
# Ensures an etcd server binary exists for the @microts/etcd integration tests. Idempotent.
# The tests start their own etcd (packages/testing/src/servers/etcd.ts) on free loopback ports;
# no system etcd service is needed, and none is started by the install (see the shared script).
# Debian's package is "etcd-server" (binary /usr/bin/etcd).
set -euo pipefail
exec "$(dirname "$0")/../../scripts/ensure-debian-package.sh" etcd-server etcd
