# auditship: make run (the agent on the example logs), make test (every test).
# Needs only Go, git and make; everything else is fetched from the Go module proxy.

GO        ?= go
BIN       := bin/auditship
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PREFIX    ?= /usr/local
# PGO: the CPU profile the agent is compiled with (profile-guided optimization,
# https://go.dev/doc/pgo; make pgo writes it anew); PGO=off builds without.
PGO       ?= cmd/auditship/auditship.pgo

# The Elasticsearch-API test server (ZincSearch, built from the module proxy).
TESTSERVER_PORT ?= 4080
export TESTSERVER_PORT

.PHONY: all build run test test-long test-go lint fmt vet fuzz testserver-build testserver-start testserver-stop clean install bench bench-micro pgo

all: build

build:
	$(GO) build -trimpath -pgo=$(PGO) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/auditship

## run: the agent on the example logs, embedded store, query API on 127.0.0.1:8080
run: build
	./$(BIN) agent --config agent.hcl --log-format text

## test: every test with the race detector, with the Elasticsearch-API test server
## started for the run (or against $$ELASTICSEARCH_URL when it is set).
test: build
	@if [ -n "$$ELASTICSEARCH_URL" ]; then \
		echo "testing against ELASTICSEARCH_URL"; \
		$(GO) test -race -count=1 -timeout 25m ./... && $(MAKE) --no-print-directory test-long; \
	else \
		bash scripts/testserver/build.sh && \
		TESTSERVER_FRESH=1 bash scripts/testserver/start.sh && \
		{ ELASTICSEARCH_URL=http://admin:auditship-test@127.0.0.1:$(TESTSERVER_PORT)/es \
		  $(GO) test -race -count=1 -timeout 25m ./... && $(MAKE) --no-print-directory test-long; rc=$$?; \
		  bash scripts/testserver/stop.sh; exit $$rc; }; \
	fi

## test-long: the full-size cases that are too slow under the race detector
## (the 100 MB rotation burst of the scenario suite), without it.
test-long:
	AUDITSHIP_LONG=1 $(GO) test -count=1 -timeout 10m -run 'TestScenario_RenameRotationUnderBurst' ./agent/

testserver-build:
	bash scripts/testserver/build.sh

testserver-start: testserver-build
	bash scripts/testserver/start.sh

testserver-stop:
	bash scripts/testserver/stop.sh

## bench: the end-to-end benchmark (see BENCHMARKS.md): LINES (default 1000000),
## ROUNDS, FOLLOW_SECONDS, FOLLOW_RATE, ES_PORT; peers are installed by bench/peers.sh.
bench:
	bash bench/peers.sh
	bash bench/run.sh

## pgo: profile --once over the bench data into each output and write the
## merged CPU profile to $(PGO) (see bench/pgo.sh); commit it with hot-path changes
pgo:
	bash bench/pgo.sh

## bench-micro: the Go micro-benchmarks of the hot path
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./event/ ./bench/ ./parsers/... ./outputs/file/

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

## fuzz: every fuzz target (func Fuzz* in a _test.go) for FUZZTIME (default 60s)
## each; FUZZ, an extended regexp over "DIR FUNC", picks some
## (make fuzz FUZZ='mapping|json' FUZZTIME=5s). Targets are found with grep,
## not go test -list, so no package's TestMain runs (servers, binaries).
FUZZTIME ?= 60s
FUZZ     ?= .
fuzz:
	@set -e; n=0; \
	for dir in $$(grep -rlE --include='*_test.go' --exclude-dir=.cache --exclude-dir=testdata '^func Fuzz[A-Za-z0-9_]*\(' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -hoE '^func Fuzz[A-Za-z0-9_]*\(' $$dir/*_test.go | sed -e 's/^func //' -e 's/($$//' | sort -u); do \
			echo "$$dir $$f" | grep -qE '$(FUZZ)' || continue; \
			echo "== $$dir $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$dir; \
			n=$$((n+1)); \
		done; \
	done; \
	echo "fuzz: $$n target(s) ran for $(FUZZTIME) each"; \
	[ $$n -gt 0 ] || { echo "fuzz: no fuzz target matches FUZZ='$(FUZZ)'"; exit 1; }

## install: binary to $(PREFIX)/bin, systemd unit to $(SYSTEMDDIR), default config
## to $(CONFDIR)/agent.hcl unless one exists (run as root; DESTDIR for packaging)
SYSTEMDDIR ?= /etc/systemd/system
CONFDIR    ?= /etc/auditship
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/auditship
	install -d -m 0755 $(DESTDIR)$(SYSTEMDDIR)
	sed -e 's|/usr/local/bin/auditship|$(PREFIX)/bin/auditship|g' -e 's|/etc/auditship|$(CONFDIR)|g' \
		examples/systemd/auditship.service > $(DESTDIR)$(SYSTEMDDIR)/auditship.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/auditship.service
	@if [ -e $(DESTDIR)$(CONFDIR)/agent.hcl ]; then \
		echo "keeping the existing $(DESTDIR)$(CONFDIR)/agent.hcl"; \
	else \
		install -D -m 0644 examples/systemd/agent.hcl $(DESTDIR)$(CONFDIR)/agent.hcl; \
	fi
	@echo "installed; now: systemctl daemon-reload && systemctl enable --now auditship"

clean:
	rm -rf bin .cache/testserver/data-*
