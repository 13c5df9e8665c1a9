package auth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// A test browser: a cookie jar and a client that does not follow
// redirects, so each hop of the OAuth dance can be checked.

// browser is a cookie jar plus a client that does not follow redirects.
type browser struct {
	t   *testing.T
	c   *http.Client
	env *testEnv
}

type resp struct {
	status int
	header http.Header
	body   string
	loc    string
}

func (e *testEnv) newBrowser() *browser {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	var tr http.RoundTripper = http.DefaultTransport
	if e.o.tls {
		tr = e.inst[0].srv.Client().Transport
	}
	return &browser{t: e.t, env: e, c: &http.Client{
		Jar:       jar,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (b *browser) do(req *http.Request) resp {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(body), loc: res.Header.Get("Location")}
}

func (b *browser) get(u string) resp {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) resp {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// begin calls /auth and returns the Coze authorize URL.
func (b *browser) begin(in *instance, query string) string {
	b.t.Helper()
	r := b.get(in.url + "/auth?" + query)
	if r.status != http.StatusFound || !strings.HasPrefix(r.loc, b.env.simURL+"/") {
		b.t.Fatalf("/auth = %d %q, want 302 to the simulator", r.status, r.loc)
	}
	return r.loc
}

// consent walks the simulator's consent page and returns the callback URL.
func (b *browser) consent(authorizeURL, userID, decision string) string {
	b.t.Helper()
	cb, err := cozesim.Consent(b.t.Context(), b.c, authorizeURL, userID, decision)
	if err != nil {
		b.t.Fatal(err)
	}
	return cb
}

// signIn runs the whole flow for Coze user userID and checks it ends in a
// redirect to returnTo (or "/").
func (b *browser) signIn(in *instance, userID string) resp {
	b.t.Helper()
	r := b.get(b.consent(b.begin(in, ""), userID, "approve"))
	if r.status != http.StatusFound || r.loc != "/" {
		b.t.Fatalf("callback = %d %q %q, want 302 /", r.status, r.loc, r.body)
	}
	return r
}

// sessionID is the id half of b's session cookie for in.
func (b *browser) sessionID(in *instance) string {
	id, _, _ := strings.Cut(b.cookie(in, in.a.SessionCookieName()), ".")
	return id
}

// signedInEnv builds an env with o and signs its first simulated user in on
// the first instance.
func signedInEnv(t *testing.T, o envOpts) (*testEnv, *instance, *browser) {
	t.Helper()
	e := newEnv(t, o)
	in := e.inst[0]
	b, _, _ := signedIn(t, e, in)
	return e, in, b
}

func (b *browser) ping(in *instance) resp {
	b.t.Helper()
	return b.get(in.url + "/api/ping")
}

// wantPing reports an error unless a ping answers status; what names it.
func (b *browser) wantPing(in *instance, status int, what string) {
	b.t.Helper()
	if r := b.ping(in); r.status != status {
		b.t.Errorf("%s = %d %q, want %d", what, r.status, r.body, status)
	}
}

// mustPing is wantPing that stops the test.
func (b *browser) mustPing(in *instance, status int, what string) {
	b.t.Helper()
	if r := b.ping(in); r.status != status {
		b.t.Fatalf("%s = %d %q, want %d", what, r.status, r.body, status)
	}
}

type status struct {
	Authenticated bool `json:"authenticated"`
	User          struct {
		ID     int64  `json:"id"`
		CozeID string `json:"coze_id"`
	} `json:"user"`
}

func (b *browser) status(in *instance) status {
	b.t.Helper()
	r := b.get(in.url + "/api/auth/status")
	var s status
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		b.t.Fatalf("status body %q: %v", r.body, err)
	}
	return s
}

// cookie returns the value of the jar's cookie called name for in.
func (b *browser) cookie(in *instance, name string) string {
	u, _ := url.Parse(in.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
