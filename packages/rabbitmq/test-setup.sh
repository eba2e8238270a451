#!/usr/bin/env bash
# Ensures the RabbitMQ server scripts exist for the @microts/rabbitmq fault tests, which start their
# own private node (packages/testing/src/servers/rabbitmq.ts) on free loopback ports. Idempotent.
# The shared RabbitMQ on 127.0.0.1:5672 used by the other tests is provided by the machine; this
# script never starts, stops or reconfigures it.
set -euo pipefail

if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Do not let the package start a system service with its default configuration.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
test -x /usr/lib/rabbitmq/bin/rabbitmq-server
