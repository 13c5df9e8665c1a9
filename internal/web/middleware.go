package web

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/metrics"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
)

// loggerFrom returns the logger that observe put in the request context.
func loggerFrom(r *http.Request) *slog.Logger {
	l, _ := r.Context().Value(loggerKey).(*slog.Logger)
	return l
}

// requestIDFrom returns the request's id for logs and error bodies.
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// withRequestID gives every request a random id. An incoming X-Request-ID is
// not trusted: a client could otherwise forge log correlation.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// recoverPanics turns a handler panic into a logged 500 with our JSON body.
// http.ErrAbortHandler is re-panicked: it is net/http's way to abort a response.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The value may hold request data; log its type, not its text.
			s.d.Log.ErrorContext(r.Context(), "handler panic",
				"request_id", requestIDFrom(r.Context()), "path", clip(r.URL.Path), "panic_type", fmt.Sprintf("%T", v))
			writeError(w, r, errors.New("panic"))
		}()
		next.ServeHTTP(w, r)
	})
}

// The page's policy allows only our own scripts and styles, and images from
// ourselves and Coze's CDN (buildCSP, images.go). The simulator's consent
// page gets its own policy.
const simContentSecurityPolicy = "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries (catalog case 67).
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One backing array for the values rather than one slice per Set: these
		// headers go on every response (issue 11's per-request allocations).
		h := w.Header()
		vals := make([]string, 0, 9)
		set := func(key, v string) {
			vals = append(vals, v)
			h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
		if strings.HasPrefix(r.URL.Path, "/_sim/") && s.d.Demo {
			set("Content-Security-Policy", simContentSecurityPolicy)
		} else {
			set("Content-Security-Policy", s.csp)
		}
		set("X-Content-Type-Options", "nosniff")
		set("X-Frame-Options", "DENY")
		set("Referrer-Policy", "no-referrer")
		set("Cross-Origin-Opener-Policy", "same-origin")
		set("Cross-Origin-Resource-Policy", "same-origin")
		set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if s.https {
			set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/callback" || p == "/auth" {
			set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin rejects cross-origin state-changing requests with our JSON
// error, before any handler work (catalog cases 21 and 25).
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if s.public != nil && s.public.Host != "" {
		// Behind a proxy that rewrites Host, the browser's Origin is the public
		// one; trust exactly it (scheme, host and port compared).
		_ = cop.AddTrustedOrigin(s.public.Scheme + "://" + s.public.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.d.Log.WarnContext(r.Context(), "cross-origin request refused",
			"request_id", requestIDFrom(r.Context()), "method", metrics.Method(r.Method), "path", clip(r.URL.Path))
		writeError(w, r, errCrossOrigin)
	}))
	return cop.Handler(next)
}

// requireJSON refuses bodies that are not application/json with 415: the
// CORS-safelisted types (text/plain, forms) cannot reach JSON handlers.
func requireJSON(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeError(w, r, errUnsupportedMedia)
			return
		}
		next(w, r)
	}
}

// requireUser answers 401 unless the auth middleware found a session.
func (s *Server) requireUser(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.UserFrom(r.Context()); !ok {
			writeError(w, r, auth.ErrUnauthenticated)
			return
		}
		next(w, r)
	})
}

// requireGrant confirms the user's Coze grant (at most every few minutes,
// auth.CheckGrant) before a handler that reads only local history.
func (s *Server) requireGrant(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFrom(r.Context())
		if err := s.d.Auth.CheckGrant(r.Context(), u.ID); err != nil {
			writeError(w, r, err)
			return
		}
		next(w, r)
	}
}

// methodNotAllowedJSON answers unknown routes and wrong methods on /api paths
// with our JSON error instead of ServeMux's plain text.
func (s *Server) methodNotAllowedJSON(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			next.ServeHTTP(w, r)
			return
		}
		cw := &codeCatcher{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		if !cw.caught {
			return
		}
		switch cw.code {
		case http.StatusMethodNotAllowed:
			writeError(w, r, errMethodNotAllowed)
		default:
			writeError(w, r, errNotFound)
		}
	})
}

// codeCatcher swallows ServeMux's plain-text 404/405 so we can answer JSON.
type codeCatcher struct {
	http.ResponseWriter
	code   int
	caught bool
}

func (c *codeCatcher) WriteHeader(code int) {
	if code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
		c.code, c.caught = code, true
		c.ResponseWriter.Header().Del("Content-Type")
		c.ResponseWriter.Header().Del("X-Content-Type-Options")
		c.ResponseWriter.Header().Set("X-Content-Type-Options", "nosniff")
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeCatcher) Write(b []byte) (int, error) {
	if c.caught {
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// observe logs each request on one line and records metrics by route pattern.
func (s *Server) observe(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, pattern := mux.Handler(r)
		if pattern == "" {
			pattern = "unmatched"
		}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		r = r.WithContext(context.WithValue(r.Context(), loggerKey, s.d.Log))
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		s.d.Metrics.ObserveHTTP(pattern, r.Method, strconv.Itoa(sw.code), d)
		level := slog.LevelInfo
		if sw.code >= 500 {
			level = slog.LevelError
		} else if strings.HasPrefix(pattern, "GET /static/") || pattern == "GET /healthz" || pattern == "GET /readyz" {
			level = slog.LevelDebug
		}
		// Only the path is logged: query strings carry OAuth codes and states.
		// Client-chosen fields are cut or mapped to a fixed set (issue 8 item 1).
		s.d.Log.Log(r.Context(), level, "http request",
			"request_id", requestIDFrom(r.Context()), "method", metrics.Method(r.Method), "route", pattern,
			"path", clip(r.URL.Path), "status", sw.code, "duration_ms", d.Milliseconds())
	})
}

// maxLoggedField bounds a client-supplied string in a log line.
const maxLoggedField = 200

// clip cuts a client-supplied log field to maxLoggedField bytes on a rune
// boundary and says how much was cut.
func clip(s string) string {
	if len(s) <= maxLoggedField {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	cut := maxLoggedField
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "\uFFFD") + "…(+" + strconv.Itoa(len(s)-cut) + " bytes)"
}

// statusWriter remembers the status code and keeps Flush, deadlines and
// Hijack reachable through http.ResponseController (Unwrap).
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}
