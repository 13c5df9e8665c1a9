package web

import (
	"errors"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
)

// handleAuth starts the sign-in: 302 to Coze's authorize URL.
func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	// Browsing 127.0.0.1 while the callback is registered on localhost would
	// put the binding cookie on the wrong host; move to the registered one
	// first. Only loopback names are rewritten, so a proxy that rewrites Host
	// cannot cause a redirect loop.
	if s.public.Host != "" && r.Host != s.public.Host && isLoopbackHost(r.Host) && isLoopbackHost(s.public.Host) {
		http.Redirect(w, r, s.public.Scheme+"://"+s.public.Host+r.URL.RequestURI(), http.StatusFound)
		return
	}
	// A sign-in costs a database row and a page at Coze: rate-limited per
	// client address, with caps on what is pending (issue 8 item 2).
	if ok, wait := s.signIns.allow(clientAddr(r, s.d.TrustedProxies)); !ok {
		s.tooManySignIns(w, r, wait)
		return
	}
	q := r.URL.Query()
	ws := q.Get("workspace_id")
	if ws != "" && !isDigits(ws, 30) {
		writeError(w, r, badRequest("workspace_id"))
		return
	}
	target, err := s.d.Auth.BeginSignIn(r.Context(), w, r, q.Get("return_to"), ws)
	if errors.Is(err, auth.ErrTooManySignIns) {
		s.tooManySignIns(w, r, time.Minute)
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// handleCallback finishes the sign-in, or explains kindly why it could not.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	returnTo, err := s.d.Auth.FinishSignIn(r.Context(), w, r)
	if err == nil {
		s.d.Metrics.SignIn("ok")
		http.Redirect(w, r, auth.SafeReturnTo(returnTo), http.StatusFound)
		return
	}
	page := callbackErrorPage{Status: http.StatusBadRequest}
	switch {
	case errors.Is(err, auth.ErrConsentDenied):
		s.d.Metrics.SignIn("denied")
		page.Status = http.StatusForbidden
		page.Key = "denied"
		page.Detail = r.URL.Query().Get("error_description")
	case errors.Is(err, auth.ErrNotAllowed):
		s.d.Metrics.SignIn("not_allowed")
		var na *auth.NotAllowedError
		id := ""
		if errors.As(err, &na) {
			id = na.CozeUserID
		}
		page.Status = http.StatusForbidden
		page.Key, page.Params = "not_allowed", map[string]any{"user_id": id}
	case errors.Is(err, auth.ErrStateExpired):
		s.d.Metrics.SignIn("expired")
		page.Key = "expired"
	case errors.Is(err, auth.ErrExchangeFailed):
		s.d.Metrics.SignIn("exchange_failed")
		page.Status = http.StatusBadGateway
		page.Key = "exchange_failed"
	case errors.Is(err, auth.ErrStateInvalid):
		s.d.Metrics.SignIn("invalid_state")
		page.Key = "invalid_state"
	default:
		s.d.Metrics.SignIn("error")
		var ae *apiError
		if a, ok := toAPIError(err); ok {
			ae = a
		}
		if ae == nil {
			s.d.Log.ErrorContext(r.Context(), "sign-in failed", "request_id", requestIDFrom(r.Context()), "err", err)
			page.Status = http.StatusInternalServerError
		} else {
			page.Status = ae.Status
		}
		page.Key = "failed"
	}
	if len(page.Detail) > 200 {
		page.Detail = page.Detail[:200]
	}
	page.Detail = strings.ToValidUTF8(page.Detail, "")
	page.write(w, r)
}

// tooManySignIns answers 429 with Retry-After and a page that says what to
// do, in the reader's language.
func (s *Server) tooManySignIns(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int(roundUp(wait) / time.Second)
	s.d.Metrics.SignIn("rate_limited")
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	callbackErrorPage{Status: http.StatusTooManyRequests, Key: "too_many", Params: map[string]any{"seconds": secs}}.write(w, r)
}

// callbackErrorPage is a sign-in error page: its words are the catalog's
// callback.<Key>.title and .body, in the language the person chose on the page
// (langOf: its cookie, else the browser's), styled like the app (issue 10 item 2).
type callbackErrorPage struct {
	Status int
	Key    string
	Params map[string]any
	Detail string // Coze's own words, if any
}

// say is one catalog entry in lang.
func say(lang, id string, params map[string]any) string { return messages.text(lang, id, params) }

func (p callbackErrorPage) write(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.Status)
	_ = callbackErrorTmpl.Execute(w, map[string]any{
		"Lang":   lang,
		"Title":  say(lang, "callback."+p.Key+".title", p.Params),
		"Body":   say(lang, "callback."+p.Key+".body", p.Params),
		"Retry":  say(lang, "callback.retry", nil),
		"Home":   say(lang, "callback.home", nil),
		"Detail": p.Detail,
	})
}

// callbackErrorTmpl escapes everything it prints (catalog cases 11 and 70).
var callbackErrorTmpl = template.Must(template.New("callback").Funcs(template.FuncMap{"static": staticURL}).Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — coze2app</title>
<link rel="icon" href="{{static "img/logo.svg"}}" type="image/svg+xml">
<link rel="stylesheet" href="{{static "css/tokens.css"}}"><link rel="stylesheet" href="{{static "css/app.css"}}"><link rel="stylesheet" href="{{static "css/page.css"}}"></head>
<body class="callback-page"><main class="callback-card">
<img class="callback-logo" src="{{static "img/logo.svg"}}" alt="" width="48" height="48">
<h1>{{.Title}}</h1>
<p>{{.Body}}</p>
{{if .Detail}}<p class="detail">Coze: {{.Detail}}</p>{{end}}
<p class="callback-actions"><a class="btn btn-filled" href="/auth">{{.Retry}}</a> <a class="btn btn-text" href="/">{{.Home}}</a></p>
</main></body></html>`))

// handleAuthStatus tells the page who is signed in. Only id, name, avatar
// and the demo flag leave the server (catalog case 29).
func (s *Server) handleAuthStatus(w http.ResponseWriter, r *http.Request) {
	u, ok := auth.UserFrom(r.Context())
	body := map[string]any{"authenticated": ok, "user": nil, "demo": s.d.Demo}
	if ok {
		body["user"] = map[string]string{"id": u.CozeUserID, "name": u.Name, "avatar_url": safeImageURL(u.AvatarURL)}
	}
	writeJSON(w, http.StatusOK, body)
}

// handleLogout ends the session on the server.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if u, ok := auth.UserFrom(r.Context()); ok {
		s.bots.purge(u.ID)
	}
	if err := s.d.Auth.SignOut(r.Context(), w, r); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// handleLogoutGET keeps the Flask demo's GET logout for a typed-in or
// followed link only. CrossOriginProtection lets every GET through, so this
// route checks fetch metadata itself: a cross-site navigation cannot use it
// (catalog case 19), and neither can an <img>, fetch or frame of our own
// origin — an answer showing ![](/api/auth/logout) would otherwise sign the
// viewer out on every view (issue 8 item 7). Without fetch metadata (old
// browsers, curl) it does nothing: POST /api/auth/logout is the way.
func (s *Server) handleLogoutGET(w http.ResponseWriter, r *http.Request) {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "none", "same-origin", "":
	default:
		writeError(w, r, errCrossOrigin)
		return
	}
	if r.Header.Get("Sec-Fetch-Mode") != "navigate" || r.Header.Get("Sec-Fetch-Dest") != "document" {
		writeError(w, r, errNotNavigation)
		return
	}
	s.handleLogout(w, r)
}

// handleLogoutEverywhere ends every session of the signed-in person, on
// every device, and deletes their Coze tokens (issue 8 item 8).
func (s *Server) handleLogoutEverywhere(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	s.bots.purge(u.ID)
	if err := s.d.Auth.SignOutEverywhere(r.Context(), w, r); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

var errNotNavigation = fail(http.StatusForbidden, "not_a_navigation")

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pathID reads the path value name, which must be a Coze id (digits); when
// it is not, it answers 400 bad_request.<reason> and reports false.
func pathID(w http.ResponseWriter, r *http.Request, name, reason string) (string, bool) {
	id := r.PathValue(name)
	if !isDigits(id, 30) {
		writeError(w, r, badRequest(reason))
		return "", false
	}
	return id, true
}

// isDigits reports whether s is 1..max ASCII digits (Coze ids are decimal strings).
func isDigits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
