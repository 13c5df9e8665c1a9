package auth

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxReturnTo bounds a kept return_to; longer values fall back to "/".
const maxReturnTo = 2048

// SafeReturnTo returns s if it is a same-origin relative path, else "/".
// Kept: a single leading "/" followed by path, query or fragment. Rejected
// (BCP RFC 9700 §4.11.1, catalog case 10): "//host" and "/\host" (browsers
// read both as another origin), any backslash, control characters (a tab
// or newline inside "/\t/evil" is dropped by browsers), invalid UTF-8,
// values over 2048 bytes, and anything whose percent-decoded form breaks
// these rules (so "/%2F/evil" cannot become "//evil" after one more decode).
func SafeReturnTo(s string) string {
	if !safePath(s) {
		return "/"
	}
	if dec, err := url.PathUnescape(s); err != nil || !safePath(dec) {
		return "/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return s
}

func safePath(s string) bool {
	if len(s) == 0 || len(s) > maxReturnTo || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, '\\') {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// validWorkspaceID reports whether id is empty (no workspace) or 1–30 ASCII
// digits (Coze IDs are 19-digit strings).
func validWorkspaceID(id string) bool {
	if len(id) > 30 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// stateLen is len(rand.Text()): 26 characters of the base32 alphabet.
const stateLen = 26

// validState reports whether s looks like a state we issued, so junk never
// reaches the database (catalog case 1: 10 KB of junk).
func validState(s string) bool {
	if len(s) != stateLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// maxCode bounds the authorization code we forward to Coze (codes are ~50 chars).
const maxCode = 512

// callback is the parsed query of GET /callback (coze-protocol §6.2).
type callback struct {
	State, Code, Error string
}

// parseCallback parses the raw query of the OAuth callback. Each parameter
// may appear at most once. It fails with ErrStateInvalid for a missing or
// malformed state; code and error are checked by FinishSignIn after the
// state was consumed.
func parseCallback(rawQuery string) (callback, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return callback{}, fmt.Errorf("parse callback query: %w", ErrStateInvalid)
	}
	one := func(k string) (string, bool) {
		v := q[k]
		if len(v) > 1 {
			return "", false
		}
		if len(v) == 0 {
			return "", true
		}
		return v[0], true
	}
	var c callback
	var ok [3]bool
	c.State, ok[0] = one("state")
	c.Code, ok[1] = one("code")
	c.Error, ok[2] = one("error")
	for _, b := range ok {
		if !b {
			return callback{}, fmt.Errorf("callback parameter repeated: %w", ErrStateInvalid)
		}
	}
	if !validState(c.State) {
		return callback{}, fmt.Errorf("callback state malformed: %w", ErrStateInvalid)
	}
	if len(c.Code) > maxCode {
		return callback{}, fmt.Errorf("callback code too long: %w", ErrStateInvalid)
	}
	if len(c.Error) > 64 {
		c.Error = c.Error[:64] // only ever logged, as a quoted value
	}
	return c, nil
}
