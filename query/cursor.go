package query

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/auditship/auditship/outputs"
)

// Cursor versions: the first byte of every cursor, so the format can change
// without old cursors being misread. Version 1 cursors (no pin, no digest)
// are still accepted, since cursors survive restarts; new cursors are
// version 2.
const (
	cursorV1 = 1
	cursorV2 = 2
)

// Cursor layouts, each followed by a 32-byte HMAC-SHA256 of the payload:
//
//	v1: version, order, event_time (int64 ns), event_id (int64)
//	v2: the same, then pin (int64 ns, 0: none) and the 16-byte digest of
//	    the other parameters ([paramsDigest])
const (
	cursorV1PayloadLen = 1 + 1 + 8 + 8
	cursorV2PayloadLen = cursorV1PayloadLen + 8 + digestLen
	digestLen          = 16
)

// errBadCursor is returned for cursors that are malformed, tampered with or
// signed by another server.
var errBadCursor = errors.New("cursor is invalid or was issued by another server")

// cursorToken is what a cursor carries.
type cursorToken struct {
	pos   outputs.Cursor // the last event of the page that issued it
	order outputs.Order
	// pin, in ascending order without end_time, is the server's clock when
	// the first page was served: the following pages hold only events
	// before it. Zero: none.
	pin time.Time
	// digest is [paramsDigest] of the request that issued the cursor; nil
	// for version 1 cursors, which are not checked.
	digest []byte
}

// cursorCodec signs and checks the opaque cursor tokens of X-Next-Cursor.
// The zero value is not usable; it is safe for concurrent use.
type cursorCodec struct {
	secret []byte
}

// encode returns the version 2 token for t; t.digest must have digestLen
// bytes.
func (cc cursorCodec) encode(t cursorToken) string {
	b := make([]byte, cursorV2PayloadLen, cursorV2PayloadLen+sha256.Size)
	b[0] = cursorV2
	b[1] = byte(t.order)
	binary.BigEndian.PutUint64(b[2:10], uint64(t.pos.Time.UnixNano()))
	binary.BigEndian.PutUint64(b[10:18], uint64(t.pos.ID))
	if !t.pin.IsZero() {
		binary.BigEndian.PutUint64(b[18:26], uint64(t.pin.UnixNano()))
	}
	copy(b[26:], t.digest)
	return base64.RawURLEncoding.EncodeToString(cc.sign(b))
}

// sign appends the HMAC of payload to it.
func (cc cursorCodec) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, cc.secret)
	m.Write(payload)
	return m.Sum(payload)
}

// decode checks the token's signature and returns what it carries.
func (cc cursorCodec) decode(s string) (cursorToken, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 1 {
		return cursorToken{}, errBadCursor
	}
	var n int
	switch b[0] {
	case cursorV1:
		n = cursorV1PayloadLen
	case cursorV2:
		n = cursorV2PayloadLen
	default:
		return cursorToken{}, errBadCursor
	}
	if len(b) != n+sha256.Size {
		return cursorToken{}, errBadCursor
	}
	m := hmac.New(sha256.New, cc.secret)
	m.Write(b[:n])
	if !hmac.Equal(m.Sum(nil), b[n:]) {
		return cursorToken{}, errBadCursor
	}
	t := cursorToken{
		order: outputs.Order(b[1]),
		pos: outputs.Cursor{
			Time: time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10]))).UTC(),
			ID:   int64(binary.BigEndian.Uint64(b[10:18])),
		},
	}
	if t.order != outputs.Desc && t.order != outputs.Asc {
		return cursorToken{}, errBadCursor
	}
	if b[0] == cursorV2 {
		if pin := int64(binary.BigEndian.Uint64(b[18:26])); pin != 0 {
			t.pin = time.Unix(0, pin).UTC()
		}
		t.digest = b[26:n:n]
	}
	return t, nil
}

// deriveCursorSecret derives the HMAC key for cursors from the superadmin
// key, so cursors stay valid across restarts and between the agent and
// auditship query on the same data_dir.
func deriveCursorSecret(superadminKey string) []byte {
	m := hmac.New(sha256.New, []byte(superadminKey))
	m.Write([]byte("auditship cursor v1"))
	return m.Sum(nil)
}
