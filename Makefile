# posagent - `make` lists the targets.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/posagent
PKG   := ./cmd/posagent
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILT   ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.built=$(BUILT)
# Tests: race detector on, every package; the fuzz targets run their seed corpus.
TESTFLAGS ?= -race -count=1 -timeout 15m
# staticcheck, the version scripts/setup --test installs into $(go env GOPATH)/bin.
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
ARCHS     ?= amd64,arm64,armhf

.PHONY: help setup setup-run setup-test setup-cross build run test soak rules bench lint cross fuzz install package clean
help: ## list the targets
	@echo "posagent make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-7s %s\n", $$1, $$2}'

setup: ## install every system package the build, tests and cross builds need (scripts/setup)
	bash scripts/setup

# What each job needs and nothing more: make run works without a browser.
setup-run:
	bash scripts/setup --run
setup-test:
	bash scripts/setup --test
setup-cross:
	bash scripts/setup --cross

build: ## build bin/posagent (and bin/posagent-hq, the head office: docs/feed.md) for this machine
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)
	$(GO) build -trimpath -ldflags '-s -w' -o bin/posagent-hq ./cmd/posagent-hq

run: setup-run build ## run the daemon with the in-process OTTPay simulator (API on 127.0.0.1:7420)
	./$(BIN) run $(RUNFLAGS)

test: setup-test ## vet, staticcheck, build without cgo, and run every test with -race
	$(GO) vet ./...
	$(STATICCHECK) ./...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./...
	$(GO) test $(TESTFLAGS) ./...
	$(MAKE) --no-print-directory rules

rules: ## check and unit-test the Prometheus alerts (deploy/prometheus) with promtool
	promtool check rules deploy/prometheus/alerts.yml
	cd deploy/prometheus && promtool test rules alerts_test.yml

soak: setup-test ## the money model test for longer: SOAK_OPS operations (default 10000), SOAK_SEED to replay a seed
	set -o pipefail; SOAK_OPS=$${SOAK_OPS:-10000} $(GO) test -count=1 -timeout 0 -run '^TestModel$$' -v ./agent/stacktest | grep -E 'model:|invariant|replay|seed|^(ok|FAIL|---)'

bench: build ## every benchmark, the binary's start on daemon-written journals (scripts/bench-start), each figure beside its floor (bench.txt; record it in bench.md)
	@mkdir -p .bench
	POSAGENT_BENCH_DIR=$(CURDIR)/.bench $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 40m ./... | tee bench.txt
	bash scripts/bench-rss $(BIN) | tee -a bench.txt
	bash scripts/bench-rss $(BIN) .bench/journal-100000.db | tee -a bench.txt
	bash scripts/bench-start $(BIN) | tee -a bench.txt
	@echo; bash scripts/bench-table bench.txt | tee -a bench.txt
	@echo "report: bench.txt"

lint: ## go vet, staticcheck and gofmt check
	$(GO) vet ./...
	@test -x $(STATICCHECK) || { echo "staticcheck is not installed: make setup-test (scripts/setup --test)"; exit 1; }
	$(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz: ## run each fuzz target for FUZZTIME (default 10s)
	@for p in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
	    echo "== $$p $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-10s} $$p || exit 1; \
	  done; done

cross: setup-cross ## build linux/amd64, linux/arm64, linux/armv7 (cgo) and android/arm64 (no cgo) into dist/
	@mkdir -p dist
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/posagent-linux-amd64 $(PKG)
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/posagent-linux-arm64 $(PKG)
	CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/posagent-linux-armv7 $(PKG)
	CGO_ENABLED=0 GOOS=android GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/posagent-android-arm64 $(PKG)
	@echo "binary sizes:"; ls -l dist/ | awk 'NR>1 {printf "  %-28s %6.1f MB\n", $$9, $$5/1048576}'

package: ## build .deb packages for amd64, arm64 and armhf into dist/ (nfpm; ARCHS=amd64 for one)
	bash scripts/package --arch $(ARCHS) --version $(VERSION)
	@ls -l dist/*.deb | awk '{printf "  %-48s %6.1f MB\n", $$9, $$5/1048576}'

install: build ## install on this Linux box as a systemd service (needs root; see scripts/install --help)
	sudo scripts/install --binary $(BIN)

clean: ## remove build output
	rm -rf bin dist bench.txt .bench
