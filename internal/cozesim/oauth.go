package cozesim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

type authorizeRequest struct {
	App                             App
	RedirectURI, State, WorkspaceID string
	Challenge, Method               string
	Expires                         time.Time
}

type authCode struct {
	ClientID, RedirectURI, UserID, WorkspaceID string
	Challenge, Method                          string
	Expires                                    time.Time
	Used                                       bool
}

type accessToken struct {
	UserID, ClientID, WorkspaceID string
	Expires                       time.Time
	Revoked                       bool
}

type refreshToken struct {
	UserID, ClientID, WorkspaceID string
	Access                        string // the access token issued with it
	Expires                       time.Time
	Used, Revoked                 bool
}

// handleAuthorize is GET /api/permission/oauth2/authorize and the
// workspace-scoped variant (coze-protocol §6.1, §18.3).
func (s *Sim) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	wsID := r.PathValue("workspace_id")
	bad := func(why string) {
		s.renderError(w, http.StatusBadRequest, "OAuth 错误：请求参数错误 / OAuth error: request parameter error", why)
	}
	if q.Get("response_type") != "code" {
		bad("response_type must be \"code\"")
		return
	}
	s.mu.Lock()
	app, known := s.apps[q.Get("client_id")]
	var wsOK bool
	if wsID != "" {
		wsOK = s.workspaceLocked(wsID) != nil
	}
	s.mu.Unlock()
	if !known {
		bad("unknown client_id")
		return
	}
	redirect := q.Get("redirect_uri")
	if !slices.Contains(app.RedirectURIs, redirect) {
		// Never redirect to an unregistered URI (§18.3).
		bad("redirect_uri is not registered for this app")
		return
	}
	state := q.Get("state")
	if state == "" {
		bad("state is required")
		return
	}
	if wsID != "" && !wsOK {
		bad("unknown workspace_id")
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		bad("code_challenge_method without code_challenge")
		return
	case challenge != "" && method == "":
		method = "plain" // docs: plain is the default (§7)
	case challenge != "" && method != "S256" && method != "plain":
		bad("code_challenge_method must be S256 or plain")
		return
	}
	if challenge != "" && (len(challenge) < 8 || len(challenge) > 128) {
		bad("code_challenge has a bad length")
		return
	}
	if app.ClientSecret == "" && challenge == "" {
		bad("this app is a PKCE app: code_challenge is required")
		return
	}
	if s.o.RefusePKCEForWebApps && app.ClientSecret != "" && challenge != "" {
		bad("this app is a web app: code_challenge is not accepted")
		return
	}
	key := randomString(32)
	s.mu.Lock()
	s.authKeys[key] = &authorizeRequest{App: app, RedirectURI: redirect, State: state, WorkspaceID: wsID,
		Challenge: challenge, Method: method, Expires: s.now().Add(30 * time.Minute)}
	s.mu.Unlock()
	http.Redirect(w, r, s.o.PathPrefix+"/oauth/consent?authorize_key="+key, http.StatusFound)
}

// handleConsentPost is POST /oauth/consent: approve or deny.
func (s *Sim) handleConsentPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, http.StatusBadRequest, "表单错误 / Bad form", err.Error())
		return
	}
	key := r.PostForm.Get("authorize_key")
	s.mu.Lock()
	ar := s.authKeys[key]
	if ar != nil {
		delete(s.authKeys, key)
	}
	s.mu.Unlock()
	if ar == nil || s.now().After(ar.Expires) {
		s.renderError(w, http.StatusBadRequest, "授权请求已失效 / Authorization request expired", "Start the sign-in again from the app.")
		return
	}
	v := url.Values{}
	switch r.PostForm.Get("decision") {
	case "approve":
		userID := r.PostForm.Get("user_id")
		s.mu.Lock()
		_, okUser := s.userByID[userID]
		s.mu.Unlock()
		if !okUser {
			s.renderError(w, http.StatusBadRequest, "未知用户 / Unknown user", "Pick one of the demo users.")
			return
		}
		code := "code_" + randomString(48)
		s.mu.Lock()
		s.codes[code] = &authCode{ClientID: ar.App.ClientID, RedirectURI: ar.RedirectURI, UserID: userID,
			WorkspaceID: ar.WorkspaceID, Challenge: ar.Challenge, Method: ar.Method, Expires: s.now().Add(s.o.CodeTTL)}
		s.mu.Unlock()
		v.Set("code", code)
	default:
		// §19 Q1 reading A (RFC 6749 §4.1.2.1).
		v.Set("error", "access_denied")
		v.Set("error_description", "The user denied the authorization request.")
	}
	v.Set("state", ar.State)
	http.Redirect(w, r, appendQuery(ar.RedirectURI, v), http.StatusFound)
}

// appendQuery adds v to the query of u, keeping an existing query (§6.2).
func appendQuery(u string, v url.Values) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := pu.RawQuery
	if q != "" {
		q += "&"
	}
	pu.RawQuery = q + v.Encode()
	return pu.String()
}

// writeOAuthError writes the superset OAuth error shape (§18.8): 400, or 401
// for invalid_client.
func writeOAuthError(w http.ResponseWriter, code, msg string) {
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	writeJSON(w, status, ordered{{"error_code", code}, {"error_message", msg}, {"error", code}, {"error_description", msg}})
}

type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	CodeVerifier string `json:"code_verifier"`
	RefreshToken string `json:"refresh_token"`
}

// handleToken is POST /api/permission/oauth2/token (§6.3, §6.4, §7, §18.4–8).
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var tr tokenRequest
	if err := json.Unmarshal(b, &tr); err != nil {
		writeOAuthError(w, "invalid_request", "invalid request: body must be JSON")
		return
	}
	if tr.GrantType != "authorization_code" && tr.GrantType != "refresh_token" {
		writeOAuthError(w, "unsupported_grant_type", "not supported grant type: "+tr.GrantType)
		return
	}
	s.mu.Lock()
	app, known := s.apps[tr.ClientID]
	s.mu.Unlock()
	if !known {
		writeOAuthError(w, "invalid_client", "/")
		return
	}
	if !clientAuthOK(app, r.Header.Get("Authorization"), tr.ClientSecret) {
		writeOAuthError(w, "invalid_client", "/")
		return
	}
	now := s.now()
	s.mu.Lock()
	var userID, wsID, oldAccess string
	switch tr.GrantType {
	case "authorization_code":
		c := s.codes[tr.Code]
		switch {
		case c == nil || c.ClientID != app.ClientID:
			s.mu.Unlock()
			writeOAuthError(w, "invalid_request", "invalid request: code")
			return
		case c.Used || now.After(c.Expires):
			c.Used = true
			s.mu.Unlock()
			writeOAuthError(w, "invalid_request", "invalid request: code")
			return
		}
		c.Used = true // single use, burnt even by a failed attempt
		if s.o.RefusePKCEForWebApps && app.ClientSecret != "" && tr.CodeVerifier != "" {
			// coze-js#212: a flow that does not match the app type fails
			// with this pair.
			s.mu.Unlock()
			writeOAuthError(w, "invalid_request", "invalid request: client_secret")
			return
		}
		if tr.RedirectURI != c.RedirectURI {
			s.mu.Unlock()
			writeOAuthError(w, "invalid_request", "invalid request: redirect_uri")
			return
		}
		if !pkceOK(c.Challenge, c.Method, tr.CodeVerifier) {
			s.mu.Unlock()
			writeOAuthError(w, "invalid_request", "invalid request: code_verifier")
			return
		}
		userID, wsID = c.UserID, c.WorkspaceID
	case "refresh_token":
		rt := s.refresh[tr.RefreshToken]
		if rt == nil || rt.ClientID != app.ClientID || rt.Used || rt.Revoked || now.After(rt.Expires) {
			s.mu.Unlock()
			writeOAuthError(w, "invalid_request", "invalid request: refresh_token")
			return
		}
		rt.Used = true // rotation: the presented token dies now (§6.4)
		userID, wsID, oldAccess = rt.UserID, rt.WorkspaceID, rt.Access
		if s.o.RevokeAccessOnRefresh {
			if at := s.access[oldAccess]; at != nil {
				at.Revoked = true
			}
		}
	}
	access, refresh, exp := s.issueLocked(userID, app.ClientID, wsID)
	s.mu.Unlock()

	if f := faultFrom(r.Context()); f != nil && f.ResetAfterWrite {
		if hj, okHJ := w.(http.Hijacker); okHJ {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	// Flat body, expires_in is an absolute Unix time, no token_type (§6.3, Q18).
	writeJSON(w, http.StatusOK, ordered{{"access_token", access}, {"expires_in", exp.Unix()}, {"refresh_token", refresh}})
}

// clientAuthOK checks the client credentials: web apps send
// "Authorization: Bearer <secret>"; public apps send no header or an empty
// Bearer. A secret in the body is always wrong (§6.3).
func clientAuthOK(app App, header, bodySecret string) bool {
	if bodySecret != "" {
		return false
	}
	got, hasBearer := strings.CutPrefix(header, "Bearer ")
	if !hasBearer && strings.TrimSpace(header) == "Bearer" {
		got, hasBearer = "", true
	}
	if header == "" {
		got, hasBearer = "", true
	}
	if !hasBearer {
		return false
	}
	got = strings.TrimSpace(got)
	if app.ClientSecret == "" {
		return got == ""
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(app.ClientSecret)) == 1
}

// pkceOK verifies a code_verifier against the code's challenge (§7). A
// verifier without a challenge is rejected; web app + PKCE is accepted (Q7)
// unless Options.RefusePKCEForWebApps.
func pkceOK(challenge, method, verifier string) bool {
	if challenge == "" {
		return verifier == ""
	}
	if verifier == "" {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// issueLocked mints an access/refresh pair. s.mu must be held.
func (s *Sim) issueLocked(userID, clientID, wsID string) (access, refresh string, exp time.Time) {
	now := s.now()
	access = "czu_" + randomString(60)
	refresh = randomString(72)
	exp = now.Add(s.o.AccessTTL)
	s.access[access] = &accessToken{UserID: userID, ClientID: clientID, WorkspaceID: wsID, Expires: exp}
	s.refresh[refresh] = &refreshToken{UserID: userID, ClientID: clientID, WorkspaceID: wsID, Access: access, Expires: now.Add(s.o.RefreshTTL)}
	return access, refresh, exp
}

// authed wraps an OpenAPI handler: it requires a live user access token.
func (s *Sim) authed(h func(w http.ResponseWriter, r *http.Request, t *accessToken)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		authz := r.Header.Get("Authorization")
		found := len(authz) > 7 && strings.EqualFold(authz[:7], "Bearer ")
		tok := ""
		if found {
			tok = authz[7:]
		}
		s.mu.Lock()
		at := s.access[strings.TrimSpace(tok)]
		valid := found && at != nil && !at.Revoked && s.now().Before(at.Expires)
		var cp accessToken
		if valid {
			cp = *at
		}
		s.mu.Unlock()
		if !valid {
			s.failToken(w)
			return
		}
		h(w, r, &cp)
	}
}

// accountLevel rejects tokens from a workspace-scoped authorization on
// conversation/chat/message endpoints (§6.1).
func accountLevel(t *accessToken) *apiError {
	if t.WorkspaceID != "" {
		return errf(4101, "The token does not have permission for this account-level resource (workspace-scoped authorization).")
	}
	return nil
}
