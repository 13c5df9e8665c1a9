package coze

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const tokenPath = "/api/permission/oauth2/token"

// AuthorizeParams are the per-sign-in values of the authorize URL (coze-protocol §6.1, §7).
type AuthorizeParams struct {
	State         string
	CodeChallenge string // "" => no PKCE parameters; else sent with method S256
	WorkspaceID   string // "" => plain URL; else the workspace-scoped variant
}

// Token is the result of a code exchange or refresh.
type Token struct {
	AccessToken  AccessToken
	RefreshToken RefreshToken
	ExpiresAt    time.Time // time.Unix(expires_in, 0): expires_in is ABSOLUTE (§5)
}

// AuthorizeURL returns the browser URL on the www host. It never carries the client secret.
func (c *Client) AuthorizeURL(p AuthorizeParams) string {
	path := "/api/permission/oauth2/authorize"
	if p.WorkspaceID != "" {
		path = "/api/permission/oauth2/workspace_id/" + seg(p.WorkspaceID) + "/authorize"
	}
	// Built in the docs' parameter order (fixture oauth_authorize_urls.json).
	var b strings.Builder
	b.WriteString(c.wwwBase + path)
	b.WriteString("?response_type=code&client_id=" + url.QueryEscape(c.clientID))
	b.WriteString("&redirect_uri=" + url.QueryEscape(c.redirectURI))
	b.WriteString("&state=" + url.QueryEscape(p.State))
	if p.CodeChallenge != "" {
		b.WriteString("&code_challenge=" + url.QueryEscape(p.CodeChallenge) + "&code_challenge_method=S256")
	}
	return b.String()
}

// Confidential reports whether the client authenticates to the token endpoint
// with a client secret (a Coze "web" app) rather than as a public PKCE client.
func (c *Client) Confidential() bool { return c.secret != "" }

// NewPKCEVerifier returns a fresh RFC 7636 verifier: base64url of 32 random bytes (43 chars).
func NewPKCEVerifier() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// PKCEChallengeS256 returns BASE64URL-NOPAD(SHA256(verifier)) (§7).
func PKCEChallengeS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// tokenRequest is the JSON body of the token endpoint (§6.3, §6.4, §7).
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	RedirectURI  string `json:"redirect_uri,omitempty"`
	Code         string `json:"code,omitempty"`
	CodeVerifier string `json:"code_verifier,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// ExchangeCode redeems an authorization code. codeVerifier "" => not sent.
func (c *Client) ExchangeCode(ctx context.Context, code, codeVerifier string) (Token, error) {
	t, err := c.token(ctx, tokenRequest{
		GrantType: "authorization_code", ClientID: c.clientID, RedirectURI: c.redirectURI,
		Code: code, CodeVerifier: codeVerifier,
	}, code, codeVerifier)
	if err != nil {
		return Token{}, fmt.Errorf("exchange code: %w", err)
	}
	return t, nil
}

// RefreshToken trades a refresh token for a new pair. Coze rotates refresh tokens: the one
// sent dies on success (§6.4). Never retried here.
func (c *Client) RefreshToken(ctx context.Context, rt RefreshToken) (Token, error) {
	t, err := c.token(ctx, tokenRequest{
		GrantType: "refresh_token", ClientID: c.clientID, RefreshToken: string(rt),
	}, string(rt))
	if err != nil {
		return Token{}, fmt.Errorf("refresh token: %w", err)
	}
	return t, nil
}

// token posts to the token endpoint: JSON body; the client secret as a Bearer header only
// when non-empty (§6.3, §7). Not retried: a lost response after a rotation is fatal anyway,
// and a replayed code may revoke tokens.
func (c *Client) token(ctx context.Context, body tokenRequest, secrets ...string) (Token, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	payload, err := json.Marshal(body)
	if err != nil {
		return Token{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(tokenPath, nil), bytes.NewReader(payload))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if c.secret != "" {
		req.Header.Set("Authorization", "Bearer "+string(c.secret))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Token{}, err
	}
	defer resp.Body.Close()
	raw, err := readBounded(resp.Body, c.maxBody)
	if err != nil {
		return Token{}, fmt.Errorf("read response: %w", err)
	}
	secrets = append(secrets, string(c.secret))
	return parseTokenResponse(resp.StatusCode, resp.Header, raw, time.Now(), secrets...)
}

// parseTokenResponse decides from the body (§3.2): error_code / error present => OAuthError
// whatever the status; access_token present => success; anything else => APIError.
func parseTokenResponse(status int, h http.Header, raw []byte, now time.Time, secrets ...string) (Token, error) {
	var w struct {
		AccessToken      string   `json:"access_token"`
		RefreshToken     string   `json:"refresh_token"`
		ExpiresIn        flexInt  `json:"expires_in"`
		ErrorCode        string   `json:"error_code"`
		Error            string   `json:"error"`
		ErrorMessage     string   `json:"error_message"`
		ErrorDescription string   `json:"error_description"`
		Code             *flexInt `json:"code"`
		Msg              string   `json:"msg"`
		Detail           struct {
			LogID string `json:"logid"`
		} `json:"detail"`
	}
	logID := h.Get("X-Tt-Logid")
	if err := json.Unmarshal(raw, &w); err != nil {
		msg := "invalid JSON token response"
		if status >= 400 {
			msg = "non-JSON token response"
		}
		return Token{}, &APIError{HTTPStatus: status, Msg: msg, LogID: logID}
	}
	if logID == "" {
		logID = w.Detail.LogID
	}
	if w.ErrorCode != "" || w.Error != "" {
		code := w.ErrorCode
		if code == "" {
			code = w.Error
		}
		msg := w.ErrorMessage
		if msg == "" {
			msg = w.ErrorDescription
		}
		return Token{}, &OAuthError{HTTPStatus: status, Code: scrub(code, secrets...), Message: scrub(msg, secrets...), LogID: logID}
	}
	if w.Code != nil && *w.Code != 0 {
		return Token{}, &APIError{HTTPStatus: status, Code: int(*w.Code), Msg: scrub(w.Msg, secrets...), LogID: logID}
	}
	if w.AccessToken == "" {
		return Token{}, &APIError{HTTPStatus: status, Msg: "token response without access_token", LogID: logID}
	}
	t := Token{AccessToken: AccessToken(w.AccessToken), RefreshToken: RefreshToken(w.RefreshToken)}
	switch exp := int64(w.ExpiresIn); {
	case exp <= 0:
		// unknown expiry: leave zero, callers treat it as "refresh when rejected"
	case exp < 1_000_000_000:
		// A TTL, not the documented absolute time (§5): tolerate it rather than
		// computing an expiry in 1970.
		t.ExpiresAt = now.Add(time.Duration(exp) * time.Second).Truncate(time.Second)
	default:
		t.ExpiresAt = time.Unix(exp, 0)
	}
	return t, nil
}
