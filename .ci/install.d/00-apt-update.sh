#!/usr/bin/env bash
# Refresh Debian's package lists once; later scripts apt-get install what they need.
set -euo pipefail
apt-get update -qq
