// Package dotted expands dotted top-level keys ("user.name") of a decoded
// record into nested objects, the rule shared by the json and logfmt
// decoders.
package dotted

import (
	"slices"
	"strings"
)

// Expand moves each dotted top-level key of m ("user.name") to the
// nested path it names (m["user"]["name"]), creating objects or merging into
// existing ones. A key is left as written when a segment is empty ("a..b",
// ".a") or when expanding would overwrite something: a non-object sits on a
// prefix, or the leaf already exists. Keys are applied in byte order, so the
// result does not depend on the order of keys in the line. Only top-level keys
// are expanded: keys deeper down (Kubernetes annotation names, label names)
// are data, not paths.
func Expand(m map[string]any) {
	var dotted []string
	for k := range m {
		if strings.IndexByte(k, '.') >= 0 {
			dotted = append(dotted, k)
		}
	}
	if len(dotted) == 0 {
		return
	}
	slices.Sort(dotted)
	for _, k := range dotted {
		if expandable(m, k) {
			v := m[k]
			delete(m, k)
			put(m, k, v)
		}
	}
}

// expandable reports whether path k can be set in m without overwriting.
func expandable(m map[string]any, k string) bool {
	cur := m
	for {
		seg, rest, more := strings.Cut(k, ".")
		if seg == "" {
			return false
		}
		if !more {
			_, exists := cur[seg]
			return !exists
		}
		next, ok := cur[seg]
		if !ok {
			// The rest of the path will be created; only its shape matters.
			return rest != "" && !strings.HasPrefix(rest, ".") && !strings.HasSuffix(rest, ".") && !strings.Contains(rest, "..")
		}
		nm, isMap := next.(map[string]any)
		if !isMap {
			return false
		}
		cur, k = nm, rest
	}
}

// put sets path k in m to v, creating objects on the way; k was checked
// with expandable.
func put(m map[string]any, k string, v any) {
	cur := m
	for {
		seg, rest, more := strings.Cut(k, ".")
		if !more {
			cur[seg] = v
			return
		}
		next, ok := cur[seg].(map[string]any)
		if !ok {
			next = make(map[string]any)
			cur[seg] = next
		}
		cur, k = next, rest
	}
}
