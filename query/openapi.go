package query

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3 document of the API (JSON): the parameters of
// GET /audit-logs, the bearer security scheme, the six-field event schema,
// the paging headers and every error response. The server serves it at
// GET /openapi.json without authentication. Callers must not modify it.
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "bad_request", "method "+r.Method+" is not allowed; use GET")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(OpenAPI)
}
