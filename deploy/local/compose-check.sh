#!/usr/bin/env bash
# Validate docker-compose.yml with the Compose CLI (no Docker engine is needed to validate).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v docker-compose >/dev/null; then
  echo "[compose] installing docker-compose (Debian package) to validate the Compose file" >&2
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null
fi
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml --profile ha config -q   # MongoDB as a 3-member replica set
echo "[compose] docker-compose.yml is valid (default and ha profiles)" >&2
