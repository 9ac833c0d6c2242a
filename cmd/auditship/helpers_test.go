package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
