# Scilla build. `make run` starts scillad on embedded defaults; `make test` runs
# vet and the race-enabled tests. Area-specific targets live in mk/*.mk.
GO      ?= go
BIN     := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

BUF_VERSION               := v1.75.0
PROTOC_GEN_GO_VERSION     := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPCURL_VERSION           := v1.9.4
STATICCHECK_VERSION       := v0.8.2

.PHONY: all build run test vet lint tools proto proto-check bench-scan clean

all: build

build:
	$(GO) build -o $(BIN)/ ./server/cmd/... ./clients/... ./licensing/... ./updater/...

run: build
	mkdir -p var
	$(BIN)/scillad -state-dir ./var

vet:
	$(GO) vet ./...

# Tests: vet, then everything with the race detector. Integration tests build
# the binaries themselves and skip with a message when a peer is missing.
test: vet
	$(GO) test -race -timeout 25m ./...

lint: vet
	$(BIN)/staticcheck ./...

# Tools come from the Go module proxy into .bin/ (no downloaded binaries).
tools:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(BIN) $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

proto:
	buf lint
	buf generate

# proto-check fails when the committed generated code is stale.
proto-check: proto
	git diff --exit-code -- proto/ || (echo "generated proto code is stale: run make proto and commit" >&2; exit 1)

# bench-scan: Scan round trips over loopback with the skeleton engine at
# concurrency 1 and 8, then in-process scans of the whole corpus test split
# with 2 workers and the default database (messages/second, peak RSS).
bench-scan:
	$(GO) test -run '^$$' -bench 'BenchmarkScanRoundTrip' -benchtime 3s ./server/grpcapi/
	$(MAKE) --no-print-directory bench-content

clean:
	rm -rf $(BIN) var

-include mk/*.mk
