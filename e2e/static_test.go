package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Issue 10 item 12 in Chromium: the page loads its files gzipped under
// versioned URLs (modules through the inline import map, which the CSP
// allows by hash), and a second visit takes them all from the browser's cache.

// staticEntry is one Resource Timing entry of a /static/ file.
type staticEntry struct {
	Name     string  `json:"name"`
	Transfer float64 `json:"transfer"`
	Encoded  float64 `json:"encoded"`
	Decoded  float64 `json:"decoded"`
}

// jsStaticEntries lists what the document loaded from /static/.
const jsStaticEntries = `performance.getEntriesByType('resource')
  .filter((e) => new URL(e.name).pathname.startsWith('/static/'))
  .map((e) => ({ name: e.name, transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize }))`

func TestPageLoadsCompressedAndCached(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)

	b.do("open the app", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(".signin-card")))
	pageSignIn(b)
	first := eval[[]staticEntry](b, jsStaticEntries)
	if len(first) < 20 {
		t.Fatalf("only %d /static/ resources loaded: %v", len(first), first)
	}
	for _, e := range first {
		u, err := url.Parse(e.Name)
		if err != nil || u.Query().Get("v") == "" {
			t.Errorf("loaded without a version: %s", e.Name)
		}
		// Every file the page loads is text; gzip makes each smaller on the wire.
		if e.Encoded <= 0 || e.Encoded >= e.Decoded {
			t.Errorf("%s: %v bytes on the wire for %v, not compressed", e.Name, e.Encoded, e.Decoded)
		}
	}

	// Code that imports a module by its plain path gets the page's own
	// instance through the import map, not a second copy from the server.
	lang := eval[string](b, `import('/static/js/i18n.js').then((m) => m.getLang())`)
	if lang == "" {
		t.Errorf("i18n.js through the import map: no language")
	}
	plain := eval[[]string](b, `performance.getEntriesByType('resource').map((e) => new URL(e.name)).filter((u) => u.pathname.startsWith('/static/') && !u.search).map((u) => u.href)`)
	if len(plain) != 0 {
		t.Errorf("files fetched by their plain URL: %v", plain)
	}

	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app-view")))
	again := eval[[]staticEntry](b, jsStaticEntries)
	if len(again) < len(first) {
		t.Errorf("after the reload %d /static/ resources, before %d", len(again), len(first))
	}
	for _, e := range again {
		if e.Transfer != 0 {
			t.Errorf("reload fetched %s from the server (%v bytes): not from the cache", e.Name, e.Transfer)
		}
	}

	if v := b.cspViolations(); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
	if v := eval[[]string](b, `window.__csp`); len(v) != 0 {
		t.Errorf("securitypolicyviolation events: %v", v)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.log {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
			t.Errorf("console %s: %s (%s)", m.Type, m.Text, m.URL)
		}
	}
	if t.Failed() {
		t.Logf("first load: %s", strings.Join(names(first), "\n  "))
	}
}

func names(es []staticEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}
