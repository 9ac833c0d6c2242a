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

// cursorVersion is the first byte of every cursor, so the format can change
// without old cursors being misread.
const cursorVersion = 1

// cursorLen is version, order, event_time (int64 ns) and event_id (int64),
// followed by a 32-byte HMAC-SHA256.
const (
	cursorPayloadLen = 1 + 1 + 8 + 8
	cursorLen        = cursorPayloadLen + sha256.Size
)

// errBadCursor is returned for cursors that are malformed, tampered with or
// signed by another server.
var errBadCursor = errors.New("cursor is invalid or was issued by another server")

// cursorCodec signs and checks the opaque cursor tokens of X-Next-Cursor.
// The zero value is not usable; it is safe for concurrent use.
type cursorCodec struct {
	secret []byte
}

// encode returns the token for the position c in order o.
func (cc cursorCodec) encode(c outputs.Cursor, o outputs.Order) string {
	b := make([]byte, cursorPayloadLen, cursorLen)
	b[0] = cursorVersion
	b[1] = byte(o)
	binary.BigEndian.PutUint64(b[2:10], uint64(c.Time.UnixNano()))
	binary.BigEndian.PutUint64(b[10:18], uint64(c.ID))
	m := hmac.New(sha256.New, cc.secret)
	m.Write(b)
	b = m.Sum(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decode checks the token's signature and returns its position and order.
func (cc cursorCodec) decode(s string) (outputs.Cursor, outputs.Order, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return outputs.Cursor{}, 0, errBadCursor
	}
	m := hmac.New(sha256.New, cc.secret)
	m.Write(b[:cursorPayloadLen])
	if !hmac.Equal(m.Sum(nil), b[cursorPayloadLen:]) {
		return outputs.Cursor{}, 0, errBadCursor
	}
	o := outputs.Order(b[1])
	if o != outputs.Desc && o != outputs.Asc {
		return outputs.Cursor{}, 0, errBadCursor
	}
	c := outputs.Cursor{
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10]))).UTC(),
		ID:   int64(binary.BigEndian.Uint64(b[10:18])),
	}
	return c, o, nil
}

// deriveCursorSecret derives the HMAC key for cursors from the superadmin
// key, so cursors stay valid across restarts and between the agent and
// auditship query on the same data_dir.
func deriveCursorSecret(superadminKey string) []byte {
	m := hmac.New(sha256.New, []byte(superadminKey))
	m.Write([]byte("auditship cursor v1"))
	return m.Sum(nil)
}
