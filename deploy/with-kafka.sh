#!/usr/bin/env bash
# Run a command with the local broker up; stop the broker afterwards only if
# this script started it, so a broker the user runs is left alone.
set -euo pipefail
kafka="$(dirname "$0")/kafka/kafka.sh"
if "$kafka" status >/dev/null 2>&1; then
    exec "$@"
fi
"$kafka" up
trap '"$kafka" down' EXIT
"$@"
