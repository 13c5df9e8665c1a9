package coze

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const fixtureDir = "testdata/fixtures"

const (
	testSecret   = ClientSecret("cs_test_secret_value_123")
	testClientID = "81734206536653066151822452691234.app.coze"
	testRedirect = "https://app.example.com/callback"
	testToken    = AccessToken("czu_test_access_token")
	testPrefix   = "/_sim"
)

func mustFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return b
}

// mustFixtureMap decodes a JSON fixture, dropping "_note*" keys (fixtures/README.md).
func mustFixtureMap(tb testing.TB, name string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustFixture(tb, name), &m); err != nil {
		tb.Fatalf("decode fixture %s: %v", name, err)
	}
	maps.DeleteFunc(m, func(k string, _ any) bool { return strings.HasPrefix(k, "_note") })
	return m
}

// seen is one request received by the fake server.
type seen struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
}

// fake is a scripted Coze: it answers every request with the configured response.
type fake struct {
	srv *httptest.Server
	mu  sync.Mutex
	req []seen
	// response
	status  int
	ctype   string
	body    []byte
	headers map[string]string
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.req = append(f.req, seen{r.Method, strings.TrimPrefix(r.URL.Path, testPrefix), r.URL.Query(), r.Header.Clone(), body})
	status, ctype, resp, hdr := f.status, f.ctype, f.body, f.headers
	f.mu.Unlock()
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(status)
	w.Write(resp)
}

func (f *fake) answer(status int, ctype string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.ctype, f.body = status, ctype, body
}

func (f *fake) last(tb testing.TB) seen {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.req) == 0 {
		tb.Fatal("no request received")
	}
	return f.req[len(f.req)-1]
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.req)
}

// mustFake starts a fake Coze mounted under testPrefix and a client for it.
func mustFake(tb testing.TB, o Options) (*fake, *Client) {
	tb.Helper()
	f := &fake{status: 200, ctype: "application/json"}
	f.srv = httptest.NewServer(f)
	tb.Cleanup(f.srv.Close)
	o.APIBase = f.srv.URL + testPrefix + "/"
	if o.WWWBase == "" {
		o.WWWBase = f.srv.URL + testPrefix
	}
	if o.ClientID == "" {
		o.ClientID = testClientID
	}
	if o.RedirectURI == "" {
		o.RedirectURI = testRedirect
	}
	c := New(o)
	c.backoff = func(int) time.Duration { return time.Millisecond }
	return f, c
}

func jsonFixture(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(fixtureDir, name))
}

// fakeAnswering is mustFake with the fake's answer already set.
func fakeAnswering(tb testing.TB, o Options, status int, ctype string, body []byte) (*fake, *Client) {
	tb.Helper()
	f, c := mustFake(tb, o)
	f.answer(status, ctype, body)
	return f, c
}
