// Package redact hides passwords inside database URLs and in error messages
// that may quote them (issue 8 item 11). It is a leaf: config and store use
// it without depending on each other.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// mask replaces every hidden value.
const mask = "xxxxx"

// passwordParams are the connection parameters that carry a secret (libpq
// and pgx read a password from the query string too).
var passwordParams = map[string]bool{"password": true, "sslpassword": true, "pass": true, "pwd": true}

var (
	keywordPassword = regexp.MustCompile(`(?i)\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)`)
	userinfo        = regexp.MustCompile(`(//[^/@:?#\s]*:)[^@\s]*@`)
	userinfoSecret  = regexp.MustCompile(`//[^/@:?#\s]*:([^@\s]*)@`)
)

// URL returns raw with its passwords replaced by xxxxx: the userinfo
// password, password parameters in the query, and password=… keywords. An
// unparsable URL is redacted by pattern, never returned as it was.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Scheme == "" {
		return byPattern(raw)
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), mask)
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(k); err != nil || passwordParams[strings.ToLower(name)] {
				parts[i] = k + "=" + mask
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	// The pattern pass catches what structure missed, e.g. a query that a
	// stray "?" or a bad escape hides from the split above.
	return byPattern(u.String())
}

func byPattern(s string) string {
	s = keywordPassword.ReplaceAllString(s, "${1}="+mask)
	return userinfo.ReplaceAllString(s, "${1}"+mask+"@")
}

// Passwords returns the secrets raw carries (decoded and as written), so an
// error message from a driver can be scrubbed of them.
func Passwords(raw string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 3 { // shorter would garble messages; such a password is no secret anyway
			out = append(out, s)
			if dec, err := url.QueryUnescape(s); err == nil && dec != s && len(dec) >= 3 {
				out = append(out, dec)
			}
		}
	}
	for _, m := range keywordPassword.FindAllStringSubmatch(raw, -1) {
		add(strings.Trim(m[2], "'"))
	}
	for _, m := range userinfoSecret.FindAllStringSubmatch(raw, -1) {
		add(m[1])
	}
	if u, err := url.Parse(raw); err == nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		for k, vs := range u.Query() {
			if passwordParams[strings.ToLower(k)] {
				for _, v := range vs {
					add(v)
				}
			}
		}
	}
	return out
}

// Error returns err with every password of raw hidden in its message. The
// chain is kept for errors.Is and errors.As.
func Error(err error, raw string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, p := range Passwords(raw) {
		clean = strings.ReplaceAll(clean, p, mask)
	}
	clean = byPattern(clean)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is/As working; the wrapped message is not printed.
func (e *redactedError) Unwrap() error { return e.err }
