#!/usr/bin/env bash
# Validate docker-compose.yml with the Compose CLI (no Docker engine is needed to validate).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v docker-compose >/dev/null; then
  echo "[compose] installing docker-compose (Debian package) to validate the Compose file" >&2
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null
fi
docker-compose -f docker-compose.yml config -q
echo "[compose] docker-compose.yml is valid" >&2
