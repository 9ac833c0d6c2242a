# auditship: make run (the agent on the example logs), make test (every test).
# Needs only Go, git and make; everything else is fetched from the Go module proxy.

GO        ?= go
BIN       := bin/auditship
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PREFIX    ?= /usr/local

# The Elasticsearch-API test server (ZincSearch, built from the module proxy).
TESTSERVER_PORT ?= 4080
export TESTSERVER_PORT

.PHONY: all build run test test-go lint fmt vet fuzz testserver-build testserver-start testserver-stop clean install

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/auditship

## run: the agent on the example logs, embedded store, query API on 127.0.0.1:8080
run: build
	./$(BIN) agent --config agent.hcl --log-format text

## test: every test with the race detector, with the Elasticsearch-API test server
## started for the run (or against $$ELASTICSEARCH_URL when it is set).
test: build
	@if [ -n "$$ELASTICSEARCH_URL" ]; then \
		echo "testing against ELASTICSEARCH_URL"; \
		$(GO) test -race -count=1 -timeout 25m ./...; \
	else \
		bash scripts/testserver/build.sh && \
		TESTSERVER_FRESH=1 bash scripts/testserver/start.sh && \
		{ $(GO) test -race -count=1 -timeout 25m ./...; rc=$$?; \
		  bash scripts/testserver/stop.sh; exit $$rc; }; \
	fi

testserver-build:
	bash scripts/testserver/build.sh

testserver-start: testserver-build
	bash scripts/testserver/start.sh

testserver-stop:
	bash scripts/testserver/stop.sh

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

## fuzz: every fuzz target for FUZZTIME (default 60s) each
FUZZTIME ?= 60s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## install: binary, systemd unit and default config (run as root)
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/auditship

clean:
	rm -rf bin .cache/testserver/data-*
