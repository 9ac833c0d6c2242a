#!/usr/bin/env bash
# build.sh builds ZincSearch v0.4.10, a server that speaks the Elasticsearch
# REST API under /es/, into .cache/testserver/bin/zincsearch for the
# integration tests of outputs/elasticsearch. It needs only Go and the Go
# module proxy. See docs in /work/shared/notes/elasticsearch-test-server.md:
#   - `go install ...@v0.4.10` is refused, so it builds inside a throwaway
#     module that requires zincsearch and repeats its replace lines;
#   - the module zip lacks web/dist (the embedded UI): a stub index.html in
#     vendor/ satisfies the //go:embed;
#   - godeltaprof v0.1.2 has no file for Go >= 1.22: a copy of its stub with a
#     go1.22 build line, linked with -checklinkname=0.
# Idempotent: does nothing when the binary exists (FORCE=1 rebuilds).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${TESTSERVER_CACHE:-$root/.cache/testserver}"
bin="$cache/bin/zincsearch"
src="$cache/src"
version="v0.4.10"

if [[ -x "$bin" && "${FORCE:-}" != "1" ]]; then
	echo "testserver: $bin already built"
	exit 0
fi

export GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
start=$(date +%s)
rm -rf "$src"
mkdir -p "$src" "$cache/bin"
cd "$src"

cat >go.mod <<MOD
module auditship.local/testserver

go 1.22

require github.com/zincsearch/zincsearch $version

replace (
	github.com/blugelabs/bluge => github.com/zincsearch/bluge v1.1.5
	github.com/blugelabs/bluge_segment_api => github.com/zincsearch/bluge_segment_api v1.0.0
	github.com/blugelabs/ice => github.com/zincsearch/ice v1.1.3
)
MOD

cat >tools.go <<'GO'
//go:build tools

// Package testserver only pins the zincsearch command for `go mod vendor`.
package testserver

import _ "github.com/zincsearch/zincsearch/cmd/zincsearch"
GO

echo "testserver: resolving modules"
go mod download github.com/zincsearch/zincsearch
go get "github.com/zincsearch/zincsearch/cmd/zincsearch@$version"

echo "testserver: vendoring (a missing web/dist pattern is expected)"
go mod vendor || echo "testserver: go mod vendor reported the missing web/dist; continuing"
[[ -f vendor/modules.txt ]] || { echo "testserver: vendor/ was not written" >&2; exit 1; }

# The UI zincsearch embeds; not in the module zip.
mkdir -p vendor/github.com/zincsearch/zincsearch/web/dist
echo '<!doctype html><title>zincsearch (test build, no UI)</title>' \
	>vendor/github.com/zincsearch/zincsearch/web/dist/index.html

# godeltaprof has no file for go >= 1.22: reuse its stub under that build line.
gdp="vendor/github.com/pyroscope-io/godeltaprof/internal/pprof"
if [[ -d "$gdp" && ! -f "$gdp/stub_go122.go" ]]; then
	stub="$gdp/stub.go"
	[[ -f "$stub" ]] || { echo "testserver: $stub not found" >&2; exit 1; }
	sed -E -e 's#^//go:build .*#//go:build go1.22#' -e '\#^// \+build #d' "$stub" >"$gdp/stub_go122.go.tmp"
	mv "$gdp/stub_go122.go.tmp" "$gdp/stub_go122.go"
fi

echo "testserver: compiling"
go build -mod=vendor -trimpath -ldflags=-checklinkname=0 -o "$bin.tmp" \
	github.com/zincsearch/zincsearch/cmd/zincsearch
mv "$bin.tmp" "$bin"
echo "testserver: built $bin in $(( $(date +%s) - start ))s"
