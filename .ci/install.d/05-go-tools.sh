#!/usr/bin/env bash
# buf, protoc plugins and grpcurl from the Go module proxy into .bin/.
set -euo pipefail
make tools
