package web

import (
	"errors"
	"fmt"
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
		writeError(w, r, badRequest("workspace_id must be digits.", "workspace_id 必须是数字。"))
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
		page.TitleEn, page.TitleZh = "Authorization was declined", "授权已被拒绝"
		page.BodyEn = "Coze did not grant access. You can try again whenever you like."
		page.BodyZh = "Coze 未授予访问权限，您可以随时重试。"
		page.Detail = r.URL.Query().Get("error_description")
	case errors.Is(err, auth.ErrNotAllowed):
		s.d.Metrics.SignIn("not_allowed")
		var na *auth.NotAllowedError
		id := ""
		if errors.As(err, &na) {
			id = na.CozeUserID
		}
		page.Status = http.StatusForbidden
		page.TitleEn, page.TitleZh = "This app is private", "此应用仅限受邀用户使用"
		page.BodyEn = fmt.Sprintf("Your Coze account (user id %s) is not on this app's list of people who may use it. Ask whoever runs it to add your user id, or a workspace you belong to.", id)
		page.BodyZh = fmt.Sprintf("您的 Coze 账号（用户 ID %s）不在本应用的允许名单中。请联系运营者添加您的用户 ID，或您所在的工作空间。", id)
	case errors.Is(err, auth.ErrStateExpired):
		s.d.Metrics.SignIn("expired")
		page.TitleEn, page.TitleZh = "This sign-in has expired", "本次登录已过期"
		page.BodyEn = "Sign-in links are valid for a few minutes. Please start again."
		page.BodyZh = "登录链接仅在几分钟内有效，请重新开始。"
	case errors.Is(err, auth.ErrExchangeFailed):
		s.d.Metrics.SignIn("exchange_failed")
		page.Status = http.StatusBadGateway
		page.TitleEn, page.TitleZh = "Coze did not complete the sign-in", "Coze 未能完成登录"
		page.BodyEn = "The authorization code could not be exchanged. Please try again; if it repeats, check the OAuth app's client id, secret and callback URL."
		page.BodyZh = "授权码兑换失败，请重试；若反复出现，请检查 OAuth 应用的 client id、密钥和回调地址。"
	case errors.Is(err, auth.ErrStateInvalid):
		s.d.Metrics.SignIn("invalid_state")
		page.TitleEn, page.TitleZh = "This sign-in link is not valid", "登录链接无效"
		page.BodyEn = "It was already used, belongs to another browser, or was changed. Please start again."
		page.BodyZh = "该链接已被使用、属于其他浏览器或已被修改，请重新开始。"
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
		page.TitleEn, page.TitleZh = "Sign-in failed", "登录失败"
		page.BodyEn = "Something went wrong while signing you in. Please try again."
		page.BodyZh = "登录过程中出现问题，请重试。"
	}
	if len(page.Detail) > 200 {
		page.Detail = page.Detail[:200]
	}
	page.Detail = strings.ToValidUTF8(page.Detail, "")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(page.Status)
	_ = callbackErrorTmpl.Execute(w, page)
}

// tooManySignIns answers 429 with Retry-After and a page that says what to
// do, in both languages.
func (s *Server) tooManySignIns(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int(roundUp(wait) / time.Second)
	s.d.Metrics.SignIn("rate_limited")
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = callbackErrorTmpl.Execute(w, callbackErrorPage{
		Status:  http.StatusTooManyRequests,
		TitleEn: "Too many sign-in attempts", TitleZh: "登录尝试过于频繁",
		BodyEn: fmt.Sprintf("Please wait %d seconds, then try again. Sign-ins already started in other tabs still work.", secs),
		BodyZh: fmt.Sprintf("请等待 %d 秒后重试。已在其他标签页中开始的登录仍然有效。", secs),
	})
}

type callbackErrorPage struct {
	Status                           int
	TitleEn, TitleZh, BodyEn, BodyZh string
	Detail                           string
}

// callbackErrorTmpl escapes everything it prints (catalog cases 11 and 70).
var callbackErrorTmpl = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.TitleZh}} · {{.TitleEn}} — coze2app</title><link rel="stylesheet" href="/static/css/app.css"></head>
<body class="callback-page"><main class="callback-card">
<h1>{{.TitleZh}}<br><small>{{.TitleEn}}</small></h1>
<p>{{.BodyZh}}</p><p>{{.BodyEn}}</p>
{{if .Detail}}<p class="detail">Coze: {{.Detail}}</p>{{end}}
<p><a class="btn filled" href="/auth">重新授权 / Try again</a> <a class="btn text" href="/">返回首页 / Home</a></p>
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

var errNotNavigation = &apiError{Status: http.StatusForbidden, Code: "not_a_navigation",
	En: "Signing out by GET works only when you open the address yourself; use the Sign out button.",
	Zh: "仅在您直接打开该地址时才能通过 GET 退出登录；请使用“退出登录”按钮。"}

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
