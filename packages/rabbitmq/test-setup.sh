#!/usr/bin/env bash
# Ensures the RabbitMQ server scripts exist for the @microts/rabbitmq fault tests, which start their
# own private node (packages/testing/src/servers/rabbitmq.ts) on free loopback ports. Idempotent.
# The shared RabbitMQ on 127.0.0.1:5672 used by the other tests is provided by the machine; this
# script never starts, stops or reconfigures it.
set -euo pipefail
exec "$(dirname "$0")/../../scripts/ensure-debian-package.sh" rabbitmq-server /usr/lib/rabbitmq/bin/rabbitmq-server
