package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// heapInUse returns the live heap after a collection, for the figures the
// load cases print (issue 8: memory before and after).
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Catalog case 71 (issue 8 item 1): every metric label takes its value from a
// fixed set, and log lines cut client-supplied fields. Before the fix each
// distinct request method became a Prometheus label that was never freed
// (1,000 methods of 50 KB: 86 MB of heap, a 50 MB /metrics, 51 MB of log).
func TestCase71_MetricLabelsFromAFixedSet(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	c := e.newClient()
	const n = 400
	heapBefore := heapInUse()
	for i := range n {
		// Distinct, long, syntactically valid methods and paths.
		method := "X" + strings.Repeat("M", 4<<10) + strconv.Itoa(i)
		path := "/api/" + strings.Repeat("p", 2<<10) + strconv.Itoa(i)
		r := e.send(c, req{method: method, path: path})
		if r.status < 400 {
			t.Fatalf("method %d…: status %d, want an error", i, r.status)
		}
	}
	heapAfter := heapInUse()

	allowed := map[string]bool{}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "other"} {
		allowed[m] = true
	}
	mfs, err := e.met.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series, badLabels := 0, 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "coze2app_http_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			series++
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && !allowed[l.GetValue()] || len(l.GetValue()) > 64 {
					badLabels++
				}
			}
		}
	}
	if badLabels > 0 {
		t.Errorf("%d label values outside the fixed sets (methods: %v)", badLabels, allowed)
	}
	if series > 10 {
		t.Errorf("%d coze2app_http_* series after %d distinct methods and paths, want a handful", series, n)
	}
	w := httptest.NewRecorder()
	e.met.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	exposition := w.Body.Len()
	if exposition > 256<<10 {
		t.Errorf("/metrics is %d bytes after %d distinct methods, want it bounded", exposition, n)
	}

	var logBytes, lines, longLines int
	for line := range strings.SplitSeq(e.logs.String(), "\n") {
		if !strings.Contains(line, `msg="http request"`) {
			continue
		}
		lines++
		logBytes += len(line)
		if len(line) > 1024 {
			longLines++
		}
	}
	if longLines > 0 {
		t.Errorf("%d request log lines over 1 KiB, want client fields cut", longLines)
	}
	if lines < n {
		t.Errorf("%d request log lines for %d requests", lines, n)
	}
	t.Logf("figures: %d requests with distinct 4 KiB methods and 2 KiB paths: heap %+d KiB, /metrics %d bytes, %d coze2app_http series, request log %d bytes (%d per line)",
		n, (int64(heapAfter)-int64(heapBefore))>>10, exposition, series, logBytes, logBytes/max(lines, 1))
}

// The metrics package itself maps any method outside the standard set to
// "other", whoever calls it.
func TestCase71_MetricsNormaliseMethods(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	for _, m := range []string{"get", "PROPFIND", "G\u00e9T", strings.Repeat("A", 100)} {
		e.met.ObserveHTTP("GET /{$}", m, "200", 0)
	}
	e.met.ObserveHTTP("GET /{$}", "GET", "9999", 0)
	w := httptest.NewRecorder()
	e.met.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.Bytes()
	for _, bad := range []string{`method="get"`, "PROPFIND", `code="9999"`, strings.Repeat("A", 100)} {
		if bytes.Contains(body, []byte(bad)) {
			t.Errorf("/metrics carries %.40q", bad)
		}
	}
	if !bytes.Contains(body, []byte(`method="other"`)) {
		t.Errorf("/metrics lacks method=\"other\": %s", body)
	}
}

// Catalog case 82 (issue 8 item 12): the public listener does not serve
// /metrics; the app serves it only on COZE2APP_METRICS_ADDR (internal/app).
func TestCase82_NoMetricsOnThePublicListener(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	c := e.newClient()
	for _, p := range []string{"/metrics", "/metrics/", "/api/metrics"} {
		r := e.get(c, p)
		mustStatus(t, "GET "+p, r, http.StatusNotFound)
		if strings.Contains(string(r.body), "coze2app_http") || strings.Contains(string(r.body), "go_goroutines") {
			t.Errorf("GET %s leaks metrics: %.200s", p, r.body)
		}
	}
}

// Catalog case 83 (issue 8 item 13): the Host header must name the public
// URL's host or a loopback name, else 421; this closes DNS rebinding against
// an install on localhost.
func TestCase83_HostMustMatchPublicURL(t *testing.T) {
	t.Run("public https URL behind a proxy", func(t *testing.T) {
		e := newTestEnv(t, envOpts{publicURL: "https://app.example"})
		c := e.newClient()
		for _, tt := range []struct {
			host, path string
			want       int
		}{
			{"app.example", "/api/auth/status", 200},
			{"APP.example:443", "/api/auth/status", 200},
			{"app.example.", "/", 200},
			{"127.0.0.1:5000", "/api/auth/status", 200}, // proxy on this machine rewriting Host
			{"localhost:5000", "/api/auth/status", 200},
			{"[::1]:5000", "/api/auth/status", 200},
			{"evil.example", "/api/auth/status", 421},
			{"app.example.evil.example", "/", 421},
			{"app.example:8443", "/api/auth/status", 421},
			{"10.0.0.5:5000", "/api/auth/status", 421},
			{"10.0.0.5:5000", "/healthz", 200}, // probes call by pod address
			{"10.0.0.5:5000", "/readyz", 200},
			{"evil.example", "/auth", 421},
			{"evil.example", "/static/js/main.js", 421},
		} {
			r := e.send(c, req{method: "GET", path: tt.path, host: tt.host})
			if r.status != tt.want {
				t.Errorf("GET %s with Host %q = %d, want %d (%.120s)", tt.path, tt.host, r.status, tt.want, r.body)
			}
			if tt.want == 421 && r.errorCode() != "wrong_host" {
				t.Errorf("GET %s with Host %q: error code %q, want wrong_host", tt.path, tt.host, r.errorCode())
			}
		}
	})
	t.Run("local install, rebinding name", func(t *testing.T) {
		e, c := alanSignedIn(t)
		port := mustURL(t, e.url).Port()
		// Go's client picks cookies by the Host header; send the session
		// cookie explicitly, as if the browser had it for that name too.
		var cookies []string
		for _, ck := range c.Jar.Cookies(mustURL(t, e.url)) {
			cookies = append(cookies, ck.Name+"="+ck.Value)
		}
		bare := e.newClient()
		hdr := map[string]string{"Cookie": strings.Join(cookies, "; ")}
		r := e.send(bare, req{method: "GET", path: "/api/conversations", host: "rebind.evil.example:" + port, hdr: hdr})
		mustStatus(t, "history through a rebinding name", r, http.StatusMisdirectedRequest)
		r = e.send(bare, req{method: "GET", path: "/api/conversations", host: "localhost:" + port, hdr: hdr})
		mustStatus(t, "history through localhost", r, http.StatusOK)
	})
}

// Catalog case 84 (issue 8 item 14): a NUL byte or invalid UTF-8 in the
// history search is a 400 on both databases, never a 500 (PostgreSQL text
// cannot hold NUL).
func TestCase84_SearchRefusesNULAndInvalidUTF8(t *testing.T) {
	for _, db := range []struct{ name, url string }{
		{"sqlite", ""},
		{"postgres", storetest.PostgresURL(t)},
	} {
		t.Run(db.name, func(t *testing.T) {
			e := newTestEnv(t, envOpts{dbURL: db.url})
			c := signIn(t, e, cozesim.UserAlan)
			mustChat(t, e, c, cozesim.BotAssistant, "a message to search", "")
			for _, q := range []string{"%00", "a%00b", "%FF", "ab%C3", "%ED%A0%80"} {
				r := e.get(c, "/api/conversations?q="+q)
				mustStatus(t, "search q="+q, r, http.StatusBadRequest)
				if r.errorCode() != "bad_request" {
					t.Errorf("search q=%s: code %q, want bad_request", q, r.errorCode())
				}
			}
			r := e.get(c, "/api/conversations?q=search")
			mustStatus(t, "a plain search", r, http.StatusOK)
		})
	}
}

// Catalog case 81 (issue 8 item 11): a session id never appears in a log
// line, also when the database fails under a request that carries it.
func TestCase81_SessionIDsNeverLogged(t *testing.T) {
	// No session cache, so every request below reaches the failing store.
	e := newTestEnv(t, envOpts{auth: func(o *auth.Options) { o.CacheTTL = -1 }})
	c := signIn(t, e, cozesim.UserAlan)
	var id, secret string
	for _, ck := range c.Jar.Cookies(mustURL(t, e.url)) {
		if ck.Name == e.auth.SessionCookieName() {
			id, secret, _ = strings.Cut(ck.Value, ".")
		}
	}
	if id == "" {
		t.Fatal("no session cookie after sign-in")
	}
	mustChat(t, e, c, cozesim.BotAssistant, "hello", "")
	mustStatus(t, "history", e.get(c, "/api/conversations"), http.StatusOK)
	// Now every session lookup fails inside the store.
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.get(c, "/api/auth/status")
	e.get(c, "/api/conversations")
	e.api(c, "POST", "/api/auth/logout", nil)
	logs := e.logs.String()
	if !strings.Contains(logs, "session lookup failed") {
		t.Fatalf("the failing lookups were not logged:\n%s", logs)
	}
	for what, v := range map[string]string{"session id": id, "session secret": secret} {
		if strings.Contains(logs, v) {
			i := strings.Index(logs, v)
			t.Errorf("%s is in the log: …%s…", what, logs[max(0, i-150):min(len(logs), i+60)])
		}
	}
}
