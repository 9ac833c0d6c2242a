package json

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/auditship/auditship/parsers"
)

var _ parsers.PathDecoder = (*Decoder)(nil)

// pathTrie is one key of the paths a mapping reads: a leaf, whose value is
// built whole into its slot, or an object on the way to leaves.
type pathTrie struct {
	key   string
	slot  int // the leaf's index in vals; -1 for an inner key
	kids  []*pathTrie
	below []int // the slots at or below this key, cleared when it is met again
}

// errWholeRecord stops a paths decode whose line needs the whole record.
var errWholeRecord = errors.New("line needs its whole record")

// DecodePaths implements [parsers.PathDecoder]. It serves paths of one or
// more keys, none of which is a prefix of another, and, when dotted keys are
// expanded, no top-level key holding a dot (record["a.b"] reads the key only
// when it is not expanded). A line with a dotted top-level key whose part
// before the first dot is the first key of a path needs expanding: its
// PathsFunc returns ok false. Keys kept by [Decoder.Project] do not matter
// here: only the paths are built.
func (d *Decoder) DecodePaths(paths [][]string) (parsers.PathsFunc, bool) {
	root := &pathTrie{slot: -1}
	for i, p := range paths {
		if len(p) == 0 || (d.expand && strings.IndexByte(p[0], '.') >= 0) {
			return nil, false
		}
		for j, q := range paths {
			if i != j && len(q) <= len(p) && slices.Equal(q, p[:len(q)]) {
				return nil, false // q is p or a prefix of it
			}
		}
		n := root
		for depth, k := range p {
			var kid *pathTrie
			for _, c := range n.kids {
				if c.key == k {
					kid = c
				}
			}
			if kid == nil {
				kid = &pathTrie{key: k, slot: -1}
				n.kids = append(n.kids, kid)
			}
			kid.below = append(kid.below, i)
			if depth == len(p)-1 {
				kid.slot = i
			}
			n = kid
		}
	}
	expand := d.expand
	return func(line []byte, vals []any) (bool, error) {
		line = bytes.TrimPrefix(line, bom)
		s := scanner{b: line, text: unsafe.String(unsafe.SliceData(line), len(line)), vals: vals, expand: expand}
		clear(vals)
		if err := s.top(); err != nil {
			return false, err
		}
		if err := s.objectPaths(root); err != nil {
			if err == errWholeRecord {
				return false, nil
			}
			return false, err
		}
		if err := s.end(); err != nil {
			return false, err
		}
		return true, nil
	}, true
}

// top checks the start of a line and leaves the cursor on its top-level
// '{', with decode's errors for a blank line and for anything else.
func (s *scanner) top() error {
	s.ws()
	if s.i == len(s.b) {
		return fmt.Errorf("blank line: %w", parsers.ErrSkip)
	}
	if s.b[s.i] != '{' {
		start := s.i
		if _, err := s.value(); err != nil {
			// Not JSON at all (plain text): say so rather than what the
			// first letter would have had to begin.
			s.i = start
			return s.errf("not a JSON object")
		}
		s.i = start
		return s.errf("top-level value is not an object")
	}
	return nil
}

// end checks that nothing but white space follows the top-level object.
func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.errf("%s after the top-level object", s.describe())
	}
	return nil
}

// objectPaths reads the object at the cursor as object does, with the same
// errors at the same offsets, building only the values of n's leaves into
// s.vals and skipping every other value. A key met twice is read again
// (the last one wins, as in a map): the slots below it are cleared first,
// so that a later non-object leaves them missing.
func (s *scanner) objectPaths(n *pathTrie) error {
	s.depth++
	if s.depth > maxDepth {
		return s.errf("nesting deeper than %d", maxDepth)
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errf("%s, want an object key", s.describe())
		}
		k, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errf("%s after object key, want ':'", s.describe())
		}
		s.i++
		s.ws()
		var kid *pathTrie
		for _, c := range n.kids {
			if c.key == k {
				kid = c
				break
			}
		}
		if kid == nil && s.depth == 1 && s.expand {
			if head, _, dotted := strings.Cut(k, "."); dotted {
				for _, c := range n.kids {
					if c.key == head {
						return errWholeRecord
					}
				}
			}
		}
		switch {
		case kid == nil:
			err = s.skip()
		case kid.slot >= 0:
			s.vals[kid.slot], err = s.value()
		default:
			for _, i := range kid.below {
				s.vals[i] = nil
			}
			if s.i < len(s.b) && s.b[s.i] == '{' {
				err = s.objectPaths(kid)
			} else {
				err = s.skip()
			}
		}
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.errf("unexpected end of line in object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return s.errf("%s after object value, want ',' or '}'", s.describe())
		}
	}
}
