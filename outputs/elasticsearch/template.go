package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
)

// templateBody returns the index template for prefix and alias.
func templateBody(prefix, alias string) []byte {
	t := map[string]any{
		"index_patterns": []string{prefix + "-*"},
		"priority":       100,
		"template": map[string]any{
			"settings": map[string]any{
				// A details value that does not fit its field (a number too
				// large for long) drops the field, not the event.
				"index.mapping.ignore_malformed": true,
			},
			"mappings": map[string]any{
				"dynamic":           true,
				"date_detection":    false,
				"numeric_detection": false,
				"properties": map[string]any{
					"event_id":      map[string]any{"type": "long"},
					"event_time":    map[string]any{"type": "date"},
					"event_time_us": map[string]any{"type": "long"},
					"event_name":    map[string]any{"type": "keyword"},
					"event_type":    map[string]any{"type": "keyword"},
					"user_uid":      map[string]any{"type": "long"},
					// The exact JSON text of event_details, for rendering only.
					"event_details": map[string]any{"type": "keyword", "index": false, "doc_values": false},
					// details.<event_name>.*: searchable copy, one object per kind.
					"details": map[string]any{"type": "object", "dynamic": true},
				},
			},
			"aliases": map[string]any{alias: map[string]any{}},
		},
	}
	b, err := json.Marshal(t)
	if err != nil {
		panic(err) // a literal of strings and maps always encodes
	}
	return b
}

// requiredTypes lists the fields auditship sorts, filters or renders on,
// with the mapping types that serve: Elasticsearch's names and ZincSearch's.
var requiredTypes = map[string][]string{
	"event_id":      {"long", "numeric"},
	"event_time":    {"date", "date_nanos"},
	"event_time_us": {"long", "numeric"},
	"event_name":    {"keyword"},
	"event_type":    {"keyword"},
	"user_uid":      {"long", "numeric"},
	"event_details": {"keyword"},
}

// checkProperties returns a description of the first field of props whose
// type does not serve, or "".
func checkProperties(props map[string]struct {
	Type string `json:"type"`
}) string {
	names := make([]string, 0, len(requiredTypes))
	for n := range requiredTypes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		want := requiredTypes[n]
		p, ok := props[n]
		switch {
		case !ok:
			return fmt.Sprintf("field %s is not mapped, want %s", n, want[0])
		case !slices.Contains(want, p.Type):
			return fmt.Sprintf("field %s is mapped as %q, want %q", n, p.Type, want[0])
		}
	}
	return ""
}

type mappingJSON struct {
	Properties map[string]struct {
		Type string `json:"type"`
	} `json:"properties"`
}

type templateJSON struct {
	IndexPatterns []string `json:"index_patterns"`
	Template      struct {
		Mappings mappingJSON `json:"mappings"`
	} `json:"template"`
}

// ensureTemplate installs the index template named prefix if there is none,
// or checks that the existing one and the indexes already behind the alias
// map the fields auditship needs compatibly. An existing compatible
// template is left alone (an operator may have tuned its settings).
func ensureTemplate(ctx context.Context, c *es.Client, timeout time.Duration, prefix, alias string) error {
	path := "/_index_template/" + url.PathEscape(prefix)
	res, err := do(ctx, c, timeout, http.MethodGet, path, nil)
	if err != nil {
		return fmt.Errorf("read index template %q: %w", prefix, err)
	}
	switch {
	case res.Status == http.StatusNotFound:
		res, err := do(ctx, c, timeout, http.MethodPut, path, templateBody(prefix, alias))
		if err != nil {
			return fmt.Errorf("install index template %q: %w", prefix, err)
		}
		if res.Status >= 300 {
			return fmt.Errorf("install index template %q: %w", prefix, statusError(res))
		}
	case res.Status >= 300:
		return fmt.Errorf("read index template %q: %w", prefix, statusError(res))
	default:
		t, err := parseTemplate(res.Body)
		if err != nil {
			return fmt.Errorf("read index template %q: %w", prefix, err)
		}
		if !slices.Contains(t.IndexPatterns, prefix+"-*") {
			return fmt.Errorf("index template %q exists but does not cover %q (patterns %q): delete it or choose another index_prefix", prefix, prefix+"-*", t.IndexPatterns)
		}
		if msg := checkProperties(t.Template.Mappings.Properties); msg != "" {
			return fmt.Errorf("index template %q exists with an incompatible mapping: %s; delete it (auditship installs its own) or choose another index_prefix", prefix, msg)
		}
	}
	return checkIndexes(ctx, c, timeout, alias)
}

// parseTemplate reads GET _index_template/NAME in Elasticsearch's shape
// ({"index_templates":[{"index_template":{…}}]}) or ZincSearch's (the
// template itself).
func parseTemplate(b []byte) (templateJSON, error) {
	var wrapped struct {
		IndexTemplates []struct {
			IndexTemplate templateJSON `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.Unmarshal(b, &wrapped); err != nil {
		return templateJSON{}, fmt.Errorf("decode answer: %w", err)
	}
	if len(wrapped.IndexTemplates) > 0 {
		return wrapped.IndexTemplates[0].IndexTemplate, nil
	}
	var t templateJSON
	if err := json.Unmarshal(b, &t); err != nil {
		return templateJSON{}, fmt.Errorf("decode answer: %w", err)
	}
	return t, nil
}

// checkIndexes checks the mappings of the indexes behind alias. No alias
// yet (nothing written) is fine.
func checkIndexes(ctx context.Context, c *es.Client, timeout time.Duration, alias string) error {
	res, err := do(ctx, c, timeout, http.MethodGet, "/"+url.PathEscape(alias)+"/_mapping", nil)
	if err != nil {
		return fmt.Errorf("read mapping of %q: %w", alias, err)
	}
	if res.Status == http.StatusNotFound || (res.Status == http.StatusBadRequest && notFound(res.Body)) {
		return nil
	}
	if res.Status >= 300 {
		return fmt.Errorf("read mapping of %q: %w", alias, statusError(res))
	}
	var m map[string]struct {
		Mappings mappingJSON `json:"mappings"`
	}
	if err := json.Unmarshal(res.Body, &m); err != nil {
		return fmt.Errorf("read mapping of %q: decode answer: %w", alias, err)
	}
	for name, idx := range m {
		if msg := checkProperties(idx.Mappings.Properties); msg != "" {
			return fmt.Errorf("index %q (behind %q) has an incompatible mapping: %s; it was not created from auditship's template: reindex or delete it, or choose another index_prefix", name, alias, msg)
		}
	}
	return nil
}

// ensureIndex creates a concrete index (the template supplies mappings) and
// puts it behind the alias. ZincSearch ignores a template's aliases, so the
// alias is added explicitly; on Elasticsearch that is a no-op.
func ensureIndex(ctx context.Context, c *es.Client, timeout time.Duration, index, alias string) error {
	res, err := do(ctx, c, timeout, http.MethodPut, "/"+url.PathEscape(index), []byte("{}"))
	if err != nil {
		return fmt.Errorf("create index %q: %w", index, err)
	}
	if res.Status >= 300 && !alreadyExists(res.Body) {
		return fmt.Errorf("create index %q: %w", index, statusError(res))
	}
	body, _ := json.Marshal(map[string]any{"actions": []any{
		map[string]any{"add": map[string]any{"index": index, "alias": alias}},
	}})
	res, err = do(ctx, c, timeout, http.MethodPost, "/_aliases", body)
	if err != nil {
		return fmt.Errorf("add index %q to alias %q: %w", index, alias, err)
	}
	if res.Status >= 300 {
		return fmt.Errorf("add index %q to alias %q: %w", index, alias, statusError(res))
	}
	return nil
}

// errCredentials is wrapped by errors for answers 401 and 403.
var errCredentials = errors.New("credentials refused")

// statusError describes a non-2xx answer; 401 and 403 say that the
// credentials were refused.
func statusError(res response) error {
	if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden {
		return fmt.Errorf("%w (HTTP %d): check username and password or the API key", errCredentials, res.Status)
	}
	return fmt.Errorf("HTTP %d: %s", res.Status, errorReason(res.Body))
}

// errorJSON is an error answer: Elasticsearch's object or ZincSearch's
// string.
type errorJSON struct {
	Error json.RawMessage `json:"error"`
}

type esError struct {
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	CausedBy *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"caused_by"`
}

// errorReason renders an error answer as "type: reason", or a bounded
// excerpt of the body.
func errorReason(body []byte) string {
	var e errorJSON
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		if r := reasonOf(e.Error); r != "" {
			return r
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// reasonOf renders an "error" value: an object with type and reason, or a
// string.
func reasonOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var e esError
	if json.Unmarshal(raw, &e) != nil || (e.Type == "" && e.Reason == "") {
		return ""
	}
	r := e.Type + ": " + e.Reason
	if e.CausedBy != nil && e.CausedBy.Reason != "" {
		r += " (caused by " + e.CausedBy.Type + ": " + e.CausedBy.Reason + ")"
	}
	return r
}

// alreadyExists reports whether an error answer says the index exists.
func alreadyExists(body []byte) bool {
	r := errorReason(body)
	return strings.Contains(r, "resource_already_exists_exception") || strings.Contains(r, "already exists")
}

// notFound reports whether an error answer says the index does not exist
// (ZincSearch answers 400 for that).
func notFound(body []byte) bool {
	r := errorReason(body)
	return strings.Contains(r, "index_not_found_exception") || strings.Contains(r, "does not exist")
}
