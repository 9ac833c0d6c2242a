package json

import (
	encjson "encoding/json"
	"unsafe"
)

// Boxing a string or a json.Number into an interface (what storing it in a
// map[string]any does) allocates its 16-byte header on its own: about eight
// allocations per audit line, a good part of the decoder's garbage. The
// scanner instead keeps the headers of a line in a few slabs and builds the
// interfaces to point into them, so a line costs one or two allocations for
// all of them. An interface holding a string is a type word and a pointer to
// a string header (the Go runtime's eface); the headers are never written
// again once boxed, and the garbage collector keeps a slab alive while any
// interface points into it.

// eface is the layout of an empty interface in the Go runtime.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// typeOf returns the type word of v.
func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType = typeOf("")
	numberType = typeOf(encjson.Number(""))
)

// slabFor is the size of a line's first slab, in headers: about one value
// per 32 bytes of line, as in typical structured logs, so that most lines
// need one slab and little of it is wasted. Later slabs hold laterSlab.
func slabFor(line []byte) int { return min(64, max(4, len(line)/32)) }

const laterSlab = 16

// boxString returns v as an interface without allocating for it alone.
func (s *scanner) boxString(v string) any { return s.box(stringType, v) }

// boxNumber returns n as an interface holding a json.Number.
func (s *scanner) boxNumber(n encjson.Number) any { return s.box(numberType, string(n)) }

func (s *scanner) box(typ unsafe.Pointer, v string) any {
	if len(s.slab) == cap(s.slab) {
		n := laterSlab
		if cap(s.slab) == 0 {
			n = slabFor(s.b)
		}
		s.slab = make([]string, 0, n) // the old slab stays with its interfaces
	}
	s.slab = append(s.slab, v)
	var out any
	e := (*eface)(unsafe.Pointer(&out))
	e.typ, e.data = typ, unsafe.Pointer(&s.slab[len(s.slab)-1])
	return out
}
