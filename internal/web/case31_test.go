package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/seal"
)

// Catalog case 31: tokens travel only in Authorization, only to Coze. A full
// session runs against the simulator, which records every request; then every
// recorded request is scanned for where each credential appears.

const tokenPath = "/api/permission/oauth2/token"

// isOpenAPI reports whether a simulator path is an OpenAPI call (as opposed
// to the OAuth endpoints, the consent page or assets).
func isOpenAPI(path string) bool {
	return strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v3/")
}

// credential is one secret value seen during the session and what it is.
type credential struct{ kind, value string }

func TestCase31_TokensOnlyInAuthorizationToCoze(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	// newTestEnv registers a web app (client secret) and runs PKCE on top.
	c := signIn(t, e, cozesim.UserChen)

	// A session's worth of traffic.
	mustStatus(t, "workspaces", e.get(c, "/api/workspaces"), http.StatusOK)
	mustStatus(t, "bots", e.get(c, "/api/bots?workspace_id="+cozesim.WorkspaceTeam), http.StatusOK)
	mustStatus(t, "personal bots", e.get(c, "/api/bots?workspace_id="+cozesim.WorkspaceChen), http.StatusOK)
	mustStatus(t, "bot details", e.get(c, "/api/bots/"+cozesim.BotAssistant), http.StatusOK)

	first := mustChat(t, e, c, cozesim.BotMemory, "remember the word zebra", "")
	mustStream(t, e, c, cozesim.BotMemory, "what was the word?", first.ConversationID)
	mustStatus(t, "conversations", e.get(c, "/api/conversations"), http.StatusOK)
	mustStatus(t, "messages", e.get(c, "/api/conversations/"+first.ConversationID+"/messages"), http.StatusOK)
	mustStatus(t, "rename", e.api(c, "PATCH", "/api/conversations/"+first.ConversationID, map[string]string{"title": "case 31"}), http.StatusOK)
	mustStatus(t, "export", e.get(c, "/api/conversations/"+first.ConversationID+"/export?format=json"), http.StatusOK)

	up := uploadFile(t, e, c, "pixel.png", pngBytes, map[string]string{"Origin": e.url})
	mustStatus(t, "upload", up, http.StatusOK)
	file := decode[struct {
		ID string `json:"id"`
	}](t, up)
	r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "what is in the file?",
		"file_ids": []string{file.ID}, "stream": false})
	mustStatus(t, "chat with file", r, http.StatusOK)

	mustCancelSlowStory(t, e, c)

	// A reactive refresh: the refresh token and the new pair cross the wire.
	refreshes := e.sim.Calls("token:refresh_token")
	e.sim.ExpireAccessTokens(cozesim.UserChen)
	// (Bot lists are cached per user; a chat always goes upstream.)
	mustChat(t, e, c, cozesim.BotMemory, "after expiry", first.ConversationID)
	if n := e.sim.Calls("token:refresh_token") - refreshes; n != 1 {
		t.Fatalf("refreshes after ExpireAccessTokens = %d, want 1", n)
	}
	mustStatus(t, "bot details after refresh", e.get(c, "/api/bots/"+cozesim.BotSlow), http.StatusOK)
	mustStatus(t, "delete", e.api(c, "DELETE", "/api/conversations/"+first.ConversationID, nil), http.StatusOK)

	// The pair minted by the last refresh never goes back to Coze in this
	// session; read it from the store so a leak of it would be caught too.
	access, refresh := mustStoredTokens(t, e, cozesim.UserChen)
	mustStatus(t, "logout", e.api(c, "POST", "/api/auth/logout", nil), http.StatusOK)

	reqs := e.sim.Requests()
	creds := credentialsSeen(t, reqs)
	creds = append(creds, credential{"client secret", testSecret}, credential{"access token (stored)", access}, credential{"refresh token (stored)", refresh})
	counts := map[string]int{}
	for _, cr := range creds {
		counts[strings.Fields(cr.kind)[0]+" "+strings.Fields(cr.kind)[1]]++
	}
	for _, k := range []string{"access token", "refresh token", "authorization code", "code verifier"} {
		if counts[k] == 0 {
			t.Fatalf("session produced no %s to check (saw %v)", k, counts)
		}
	}
	t.Logf("scanned %d simulator requests for %d credentials (%v)", len(reqs), len(creds), counts)

	openAPI, tokenCalls := 0, 0
	for i, rq := range reqs {
		where := fmt.Sprintf("request #%d %s %s", i, rq.Method, rq.Path)
		authz := rq.Header.Get("Authorization")
		switch {
		case rq.Method == "POST" && rq.Path == tokenPath:
			tokenCalls++
			if authz != "Bearer "+testSecret {
				t.Errorf("%s: Authorization = %q, want the client secret as Bearer", where, redactFor(authz, creds))
			}
		case isOpenAPI(rq.Path):
			openAPI++
			if !strings.HasPrefix(authz, "Bearer czu_") || len(authz) < len("Bearer czu_")+20 {
				t.Errorf("%s: Authorization = %q, want Bearer czu_…", where, redactFor(authz, creds))
			}
		default:
			if authz != "" {
				t.Errorf("%s: unexpected Authorization header on a non-API request", where)
			}
		}
		for _, cr := range creds {
			for _, p := range placementProblems(rq, cr) {
				t.Errorf("%s: %s", where, p)
			}
		}
	}
	if tokenCalls < 2 || openAPI < 10 {
		t.Errorf("token calls = %d, OpenAPI calls = %d: the session did not exercise enough", tokenCalls, openAPI)
	}
}

// placementProblems says where a credential appears where it must not in
// one request: anywhere in the URL; the client secret outside the token
// endpoint's Authorization; an access token outside an OpenAPI
// Authorization; the refresh token, code and verifier outside the token
// endpoint's body.
func placementProblems(rq cozesim.Request, cr credential) []string {
	var out []string
	v := cr.value
	if strings.Contains(rq.Path, v) || strings.Contains(rq.Host, v) {
		out = append(out, cr.kind+" in the URL path")
	}
	for k, vals := range rq.Query {
		if strings.Contains(k, v) || strings.Contains(strings.Join(vals, "\x00"), v) {
			out = append(out, fmt.Sprintf("%s in the query (parameter %q)", cr.kind, k))
		}
	}
	isToken := rq.Method == "POST" && rq.Path == tokenPath
	for name, vals := range rq.Header {
		if !strings.Contains(strings.Join(vals, "\x00"), v) {
			continue
		}
		ok := false
		if http.CanonicalHeaderKey(name) == "Authorization" {
			switch {
			case strings.HasPrefix(cr.kind, "client secret"):
				ok = isToken
			case strings.HasPrefix(cr.kind, "access token"):
				ok = isOpenAPI(rq.Path)
			}
		}
		if !ok {
			out = append(out, cr.kind+" in header "+name)
		}
	}
	if bytes.Contains(rq.Body, []byte(v)) {
		ok := isToken && (strings.HasPrefix(cr.kind, "refresh token") ||
			strings.HasPrefix(cr.kind, "authorization code") || strings.HasPrefix(cr.kind, "code verifier"))
		if !ok {
			out = append(out, cr.kind+" in the request body")
		}
	}
	return out
}

// TestCase31_PlacementCheckerBites shows the scanner above reports each kind
// of misplacement (so a clean scan means something).
func TestCase31_PlacementCheckerBites(t *testing.T) {
	t.Parallel()
	const tok = "czu_0123456789abcdefghij0123456789"
	hdr := func(k, v string) http.Header { h := http.Header{}; h.Set(k, v); return h }
	tests := []struct {
		name string
		rq   cozesim.Request
		cr   credential
		bad  bool
	}{
		{"access token in Authorization", cozesim.Request{Method: "GET", Path: "/v1/bots", Header: hdr("Authorization", "Bearer "+tok)}, credential{"access token", tok}, false},
		{"access token in query", cozesim.Request{Method: "GET", Path: "/v1/bots", Query: map[string][]string{"access_token": {tok}}}, credential{"access token", tok}, true},
		{"access token in path", cozesim.Request{Method: "GET", Path: "/v1/bots/" + tok}, credential{"access token", tok}, true},
		{"access token in body", cozesim.Request{Method: "POST", Path: "/v3/chat", Body: []byte(`{"t":"` + tok + `"}`)}, credential{"access token", tok}, true},
		{"access token to token endpoint", cozesim.Request{Method: "POST", Path: tokenPath, Header: hdr("Authorization", "Bearer "+tok)}, credential{"access token", tok}, true},
		{"access token in another header", cozesim.Request{Method: "GET", Path: "/v1/bots", Header: hdr("X-Token", tok)}, credential{"access token", tok}, true},
		{"secret at token endpoint", cozesim.Request{Method: "POST", Path: tokenPath, Header: hdr("Authorization", "Bearer "+testSecret)}, credential{"client secret", testSecret}, false},
		{"secret to OpenAPI", cozesim.Request{Method: "GET", Path: "/v1/bots", Header: hdr("Authorization", "Bearer "+testSecret)}, credential{"client secret", testSecret}, true},
		{"secret in token body", cozesim.Request{Method: "POST", Path: tokenPath, Body: []byte(`{"client_secret":"` + testSecret + `"}`)}, credential{"client secret", testSecret}, true},
		{"refresh token in token body", cozesim.Request{Method: "POST", Path: tokenPath, Body: []byte(`{"refresh_token":"r123456789"}`)}, credential{"refresh token", "r123456789"}, false},
		{"refresh token in Authorization", cozesim.Request{Method: "GET", Path: "/v1/bots", Header: hdr("Authorization", "Bearer r123456789")}, credential{"refresh token", "r123456789"}, true},
		{"code in query", cozesim.Request{Method: "GET", Path: "/oauth/consent", Query: map[string][]string{"code": {"c123456789"}}}, credential{"authorization code", "c123456789"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := placementProblems(tt.rq, tt.cr)
			if (len(got) > 0) != tt.bad {
				t.Errorf("problems = %q, want bad=%v", got, tt.bad)
			}
		})
	}
}

// credentialsSeen collects every credential value in the recorded traffic:
// Bearer access tokens and the code, verifier and refresh token sent to the
// token endpoint.
func credentialsSeen(t *testing.T, reqs []cozesim.Request) []credential {
	t.Helper()
	var out []credential
	seen := map[string]bool{}
	add := func(kind, v string) {
		if v == "" || seen[v] {
			return
		}
		seen[v] = true
		out = append(out, credential{kind + " #" + strconv.Itoa(len(out)+1), v})
	}
	for _, rq := range reqs {
		if tok, ok := strings.CutPrefix(rq.Header.Get("Authorization"), "Bearer "); ok && tok != testSecret {
			add("access token", tok)
		}
		if rq.Method != "POST" || rq.Path != tokenPath {
			continue
		}
		var body struct {
			Code         string `json:"code"`
			CodeVerifier string `json:"code_verifier"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(rq.Body, &body); err != nil {
			t.Fatalf("token request body is not JSON: %v", err)
		}
		add("authorization code", body.Code)
		add("code verifier", body.CodeVerifier)
		add("refresh token", body.RefreshToken)
	}
	return out
}

// mustCancelSlowStory starts a streamed Slow Storyteller reply, cancels it
// after the first delta and drains the relay.
func mustCancelSlowStory(t *testing.T, e *testEnv, c *http.Client) {
	t.Helper()
	res, convID, chatID := openStream(t, e, c, cozesim.BotSlow, "Tell me a story")
	defer res.Body.Close()
	readEvents(t, res.Body, func(ev sseEvent) bool { return ev.name == "delta" })
	mustStatus(t, "cancel", e.api(c, "POST", "/api/chat/cancel", map[string]string{"conversation_id": convID, "chat_id": chatID}), http.StatusOK)
	readEvents(t, res.Body, nil)
	if n := e.sim.Calls("POST /v3/chat/cancel"); n != 1 {
		t.Fatalf("sim cancel calls = %d, want 1", n)
	}
}

// mustStoredTokens decrypts the user's current pair from the store with the
// same passphrase newTestEnv seals with.
func mustStoredTokens(t *testing.T, e *testEnv, cozeUserID string) (access, refresh string) {
	t.Helper()
	ctx := t.Context()
	var id int64
	for i := int64(1); i <= 20 && id == 0; i++ {
		if u, err := e.st.UserByID(ctx, i); err == nil && u.CozeUserID == cozeUserID {
			id = u.ID
		}
	}
	if id == 0 {
		t.Fatalf("user %s not in the store", cozeUserID)
	}
	row, err := e.st.TokensByUser(ctx, id)
	if err != nil {
		t.Fatalf("TokensByUser: %v", err)
	}
	keys, err := seal.ParseKeys("a test passphrase that is long enough")
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	open := func(ct []byte, kind string) string {
		p, _, err := s.Open(ct, []byte("user:"+strconv.FormatInt(id, 10)+":"+kind))
		if err != nil {
			t.Fatalf("open stored %s token: %v", kind, err)
		}
		return string(p)
	}
	return open(row.Access, "access"), open(row.Refresh, "refresh")
}

// redactFor replaces known credential values in s, for failure messages.
func redactFor(s string, creds []credential) string {
	for _, cr := range creds {
		s = strings.ReplaceAll(s, cr.value, "<"+cr.kind+">")
	}
	return s
}
