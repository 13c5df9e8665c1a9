package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// Cookie base names; with SecureCookies they get the "__Host-" prefix
// (host-only, Path=/, Secure: [BFF] §6.1, ASVS 3.3.x).
const (
	sessionCookieBase = "coze2app_session"
	bindingCookieBase = "coze2app_signin"
)

// secretLen is the length of a base64url secret of 32 random bytes.
const secretLen = 43

func (a *Auth) cookieName(base string) string {
	if a.secure {
		return "__Host-" + base
	}
	return base
}

// SessionCookieName returns the name of the session cookie ("coze2app_session"
// or "__Host-coze2app_session").
func (a *Auth) SessionCookieName() string { return a.cookieName(sessionCookieBase) }

// BindingCookieName returns the name of the short-lived cookie that binds a
// pending sign-in to the browser.
func (a *Auth) BindingCookieName() string { return a.cookieName(bindingCookieBase) }

// setCookie writes a host-only HttpOnly SameSite=Lax cookie. Lax, not Strict:
// the callback from Coze is a cross-site top-level navigation (catalog notes).
func (a *Auth) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   max(int(maxAge/time.Second), 1),
		HttpOnly: true,
		Secure:   a.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (a *Auth) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   a.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// singleCookie returns the value of the only cookie called name. Two cookies
// of the same name (one planted on a parent domain or another path) make the
// request ambiguous, so both are ignored.
func singleCookie(r *http.Request, name string) (string, bool) {
	cs := r.CookiesNamed(name)
	if len(cs) != 1 {
		return "", false
	}
	return cs[0].Value, true
}

// newSecret returns 32 random bytes as base64url (256 bits, ASVS 7.2.3) and
// the SHA-256 that the database keeps.
func newSecret() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	s := base64.RawURLEncoding.EncodeToString(b)
	return s, hashSecret(s)
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func validSecret(s string) bool {
	if len(s) != secretLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

func equalHash(a, b []byte) bool {
	return len(a) == sha256.Size && subtle.ConstantTimeCompare(a, b) == 1
}

// Binding cookie value: "<secret>" or "<secret>.<state>.<state>…". The states
// list which pending sign-ins of this browser still need the cookie, so
// several tabs can sign in at once (catalog case 5) and the cookie is cleared
// when the last one finishes. The database keeps only sha256(secret).
const maxBindingStates = 8

type binding struct {
	secret string
	states []string
}

func parseBinding(v string) (binding, bool) {
	parts := strings.Split(v, ".")
	if len(parts) > maxBindingStates+1 || !validSecret(parts[0]) {
		return binding{}, false
	}
	for _, s := range parts[1:] {
		if !validState(s) {
			return binding{}, false
		}
	}
	return binding{secret: parts[0], states: parts[1:]}, true
}

func (b binding) String() string {
	return strings.Join(append([]string{b.secret}, b.states...), ".")
}

func (b *binding) add(state string) {
	b.states = append(b.states, state)
	if n := len(b.states); n > maxBindingStates {
		b.states = b.states[n-maxBindingStates:]
	}
}

func (b *binding) remove(state string) {
	out := b.states[:0]
	for _, s := range b.states {
		if s != state {
			out = append(out, s)
		}
	}
	b.states = out
}

// Session cookie value: "<id>.<secret>" (STYLE rule 9).
func parseSessionCookie(v string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(v, ".")
	if !ok || !validState(id) || !validSecret(secret) {
		return "", "", false
	}
	return id, secret, true
}
