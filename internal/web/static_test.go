package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// Issue 10 item 12: static files gzipped, versioned URLs cached for a year,
// the page itself revalidated.

// rawClient sends exactly the headers it is given: no Accept-Encoding of its
// own and no transparent gunzip, so the test sees the bytes on the wire.
func rawClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func getWith(e *testEnv, c *http.Client, path string, hdr map[string]string) resp {
	e.t.Helper()
	h := map[string]string{"Sec-Fetch-Site": "same-origin"}
	for k, v := range hdr {
		h[k] = v
	}
	return e.send(c, req{method: "GET", path: path, hdr: h})
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// versionQuery is what the rewrite adds to a URL.
var versionQuery = regexp.MustCompile(`\?v=[A-Za-z0-9_-]{12}`)

// Every embedded file: gzipped when asked (text types), decoding to the very
// bytes sent without gzip, which are the embedded bytes plus only ?v=
// versions; no gzip without Accept-Encoding.
func TestStaticGzipDecodesToEmbeddedBytes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := rawClient(t)
	root, _ := fs.Sub(staticFS, "static")
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "index.html" {
			return err
		}
		embedded, _ := fs.ReadFile(root, p)
		plain := getWith(e, c, "/static/"+p, nil)
		mustStatus(t, p, plain, 200)
		if enc := plain.header.Get("Content-Encoding"); enc != "" {
			t.Errorf("%s without Accept-Encoding: Content-Encoding %q", p, enc)
		}
		if got := versionQuery.ReplaceAll(plain.body, nil); !bytes.Equal(got, embedded) {
			t.Errorf("%s: served bytes differ from the embedded file beyond ?v= versions", p)
		}
		zipped := getWith(e, c, "/static/"+p, map[string]string{"Accept-Encoding": "gzip, deflate, br"})
		mustStatus(t, p, zipped, 200)
		if !compressible(contentTypeOf(p)) {
			if zipped.header.Get("Content-Encoding") != "" {
				t.Errorf("%s (%s) gzipped", p, contentTypeOf(p))
			}
			return nil
		}
		checkGzipped(t, p, zipped, plain.body)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The page too, at /, at a page address and as the not-found page.
	for p, status := range map[string]int{"/": 200, "/c/7501234567890123456": 200, "/nope": 404} {
		plain := getWith(e, c, p, nil)
		if plain.header.Get("Content-Encoding") != "" || !bytes.Contains(plain.body, []byte(`<script type="importmap">`)) {
			t.Errorf("%s without Accept-Encoding: Content-Encoding %q, %d bytes", p, plain.header.Get("Content-Encoding"), len(plain.body))
		}
		zipped := getWith(e, c, p, map[string]string{"Accept-Encoding": "gzip"})
		mustStatus(t, p, zipped, status)
		checkGzipped(t, p, zipped, plain.body)
	}
}

func checkGzipped(t *testing.T, name string, r resp, want []byte) {
	t.Helper()
	h := r.header
	if h.Get("Content-Encoding") != "gzip" || !strings.Contains(h.Get("Vary"), "Accept-Encoding") {
		t.Errorf("%s: Content-Encoding %q, Vary %q", name, h.Get("Content-Encoding"), h.Get("Vary"))
		return
	}
	if h.Get("Content-Length") != strconv.Itoa(len(r.body)) {
		t.Errorf("%s: Content-Length %q, body %d bytes", name, h.Get("Content-Length"), len(r.body))
	}
	if len(r.body) >= len(want) {
		t.Errorf("%s: gzip %d bytes, plain %d", name, len(r.body), len(want))
	}
	if got := gunzip(t, r.body); !bytes.Equal(got, want) {
		t.Errorf("%s: gunzipped body differs from the plain one (%d vs %d bytes)", name, len(got), len(want))
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"identity", false},
		{"gzip", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"deflate, gzip;q=0.5, br", true},
		{"gzip;q=0", false},
		{"gzip; q=0.0, *", false},
		{"*", true},
		{"*;q=0", false},
		{"br, deflate", false},
		{"gzip;q=bogus", false},
	} {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestCompressibleTypes(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"a.js": true, "a.css": true, "a.html": true, "a.json": true, "a.svg": true, "a.txt": true, "a.ttf": true,
		"a.woff2": false, "a.woff": false, "a.png": false, "a.gz": false,
	} {
		if got := compressible(contentTypeOf(name)); got != want {
			t.Errorf("compressible(%s: %s) = %v, want %v", name, contentTypeOf(name), got, want)
		}
	}
}

// A matching ETag is a 304, per encoding; a versioned URL is immutable, the
// plain or a stale one (a page from before a deploy) gets the same bytes with
// no-cache, and the page is no-cache at every address.
func TestStaticCachingAndRevalidation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := rawClient(t)
	f := e.server().static.files["js/dom.js"]
	versioned := "/static/js/dom.js?v=" + f.version
	for _, ae := range []string{"", "gzip"} {
		first := getWith(e, c, versioned, map[string]string{"Accept-Encoding": ae})
		etag := first.header.Get("ETag")
		again := getWith(e, c, versioned, map[string]string{"Accept-Encoding": ae, "If-None-Match": etag})
		if again.status != http.StatusNotModified || len(again.body) != 0 {
			t.Errorf("Accept-Encoding %q, If-None-Match %s: status %d, %d bytes", ae, etag, again.status, len(again.body))
		}
	}
	if getWith(e, c, versioned, nil).header.Get("ETag") == getWith(e, c, versioned, map[string]string{"Accept-Encoding": "gzip"}).header.Get("ETag") {
		t.Errorf("the gzip and plain bodies share an ETag")
	}
	changed := getWith(e, c, versioned, map[string]string{"If-None-Match": `"something-else"`})
	mustStatus(t, "other ETag", changed, 200)

	// The sign-in error page, which the server writes itself, names the same
	// versioned files as the page.
	errPage := getWith(e, c, "/callback?error=access_denied&state=unknown", nil)
	refs := htmlURL.FindAllSubmatch(errPage.body, -1)
	if len(refs) < 4 {
		t.Errorf("sign-in error page names %d static files", len(refs))
	}
	for _, m := range refs {
		if r := getWith(e, c, string(m[1]), nil); r.status != 200 || r.header.Get("Cache-Control") != immutable {
			t.Errorf("sign-in error page: %s answers %d, Cache-Control %q", m[1], r.status, r.header.Get("Cache-Control"))
		}
	}

	for _, tt := range []struct {
		path, cache string
	}{
		{versioned, immutable},
		{"/static/js/dom.js", "no-cache"},
		{"/static/js/dom.js?v=AAAAAAAAAAAA", "no-cache"},
		{"/static/i18n/messages.json?v=" + e.server().static.files["i18n/messages.json"].version, immutable},
		{"/", "no-cache"},
		{"/c/7501234567890123456", "no-cache"},
		{"/b/7480000000000000001", "no-cache"},
		{"/w/7490000000000000001", "no-cache"},
	} {
		r := getWith(e, c, tt.path, map[string]string{"Accept-Encoding": "gzip"})
		mustStatus(t, tt.path, r, 200)
		if cc := r.header.Get("Cache-Control"); cc != tt.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, cc, tt.cache)
		}
		if strings.HasPrefix(tt.path, "/static/js/dom.js") && !bytes.Equal(gunzip(t, r.body), f.body) {
			t.Errorf("%s: not today's dom.js", tt.path)
		}
	}
}

// pageResource is one URL the page can load, found by walking index.html,
// its import map, the modules' imports, the URLs they name and CSS url()s.
type pageResource struct {
	url       string
	firstLoad bool // loaded on a first visit (not a dynamic import or a URL in code)
	status    int
	cache     string
	plain     int // bytes without gzip
	wire      int // bytes as sent to a browser that takes gzip
}

var (
	htmlURL      = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)
	importMapTag = regexp.MustCompile(`(?s)<script type="importmap">(.*?)</script>`)
	staticImport = regexp.MustCompile(`(?m)(?:^|[;}\s])(?:import|export)\s*(?:[\w$*{},\s]*?\s*from\s*)?["']([./][^"']*)["']`)
	dynImport    = regexp.MustCompile(`import\(\s*["']([./][^"']*)["']\s*\)`)
	codeURL      = regexp.MustCompile(`["'](/static/[^"']+)["']`)
	cssURL       = regexp.MustCompile(`url\(\s*["']?([^"')\s]+)["']?\s*\)`)
)

// walkPage follows every reference from the page the way a browser resolves
// it (relative to the referrer, module specifiers through the import map) and
// fetches each URL once, plain and gzipped.
func walkPage(t *testing.T, e *testEnv, c *http.Client) (index resp, importMap map[string]string, found []pageResource) {
	t.Helper()
	index = getWith(e, c, "/", nil)
	mustStatus(t, "/", index, 200)
	importMap = map[string]string{}
	if m := importMapTag.FindSubmatch(index.body); m != nil {
		var v struct{ Imports map[string]string }
		if err := json.Unmarshal(m[1], &v); err != nil {
			t.Fatalf("import map: %v", err)
		}
		importMap = v.Imports
	}
	base, _ := url.Parse(e.url + "/")
	seen := map[string]int{}
	var queue []string
	add := func(from *url.URL, ref string, module, firstLoad bool) {
		u, err := from.Parse(ref)
		if err != nil || u.Host != base.Host {
			t.Errorf("reference %q from %s: not on this server", ref, from)
			return
		}
		if mapped, ok := importMap[u.Path]; ok && module && u.RawQuery == "" {
			u, _ = base.Parse(mapped)
		}
		key := u.RequestURI()
		if i, ok := seen[key]; ok {
			found[i].firstLoad = found[i].firstLoad || firstLoad
			return
		}
		seen[key] = len(found)
		found = append(found, pageResource{url: key, firstLoad: firstLoad})
		queue = append(queue, key)
	}
	for _, m := range htmlURL.FindAllSubmatch(index.body, -1) {
		add(base, string(m[1]), false, true)
	}
	for len(queue) > 0 {
		key := queue[0]
		queue = queue[1:]
		i := seen[key]
		plain := getWith(e, c, key, nil)
		zipped := getWith(e, c, key, map[string]string{"Accept-Encoding": "gzip, deflate, br"})
		found[i].status, found[i].cache = plain.status, plain.header.Get("Cache-Control")
		found[i].plain, found[i].wire = len(plain.body), len(zipped.body)
		from, _ := base.Parse(key)
		switch {
		case strings.HasSuffix(from.Path, ".js"):
			for _, m := range staticImport.FindAllSubmatch(plain.body, -1) {
				add(from, string(m[1]), true, found[i].firstLoad)
			}
			for _, m := range dynImport.FindAllSubmatch(plain.body, -1) {
				add(from, string(m[1]), true, false)
			}
			for _, m := range codeURL.FindAllSubmatch(plain.body, -1) {
				add(from, string(m[1]), false, false)
			}
		case strings.HasSuffix(from.Path, ".css"):
			for _, m := range cssURL.FindAllSubmatch(plain.body, -1) {
				if !strings.HasPrefix(string(m[1]), "data:") {
					add(from, string(m[1]), false, found[i].firstLoad)
				}
			}
		}
	}
	return index, importMap, found
}

// Every URL the page, its modules and its styles name answers 200 under a
// version, so the browser may keep it: a reference the rewrite or the import
// map missed would come back no-cache.
func TestEveryReferencedURLIsVersioned(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	index, importMap, found := walkPage(t, e, rawClient(t))
	if len(importMap) == 0 {
		t.Fatal("index.html has no import map")
	}
	m := importMapTag.FindSubmatch(index.body)
	sum := sha256.Sum256(m[1])
	if hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(cspDirectives(index.header.Get("Content-Security-Policy"))["script-src"][1], hash) {
		t.Errorf("CSP script-src %v does not allow the import map (%s)", cspDirectives(index.header.Get("Content-Security-Policy"))["script-src"], hash)
	}
	modules := 0
	for _, r := range found {
		if r.status != 200 || r.cache != immutable {
			t.Errorf("%s: status %d, Cache-Control %q", r.url, r.status, r.cache)
		}
		if strings.Contains(r.url, ".js?") {
			modules++
		}
	}
	// Everything the app loads is reached: each module, the catalog, the styles.
	for _, want := range []string{"/static/js/chat.js?v=", "/static/vendor/katex/katex.min.js?v=", "/static/i18n/messages.json?v=", "/static/css/page.css?v=", "/static/img/logo.svg?v="} {
		if !strings.Contains(strings.Join(urlsOf(found), " "), want) {
			t.Errorf("the walk never reached %s", want)
		}
	}
	if modules != len(importMap) {
		t.Errorf("the walk reached %d modules, the import map names %d", modules, len(importMap))
	}
}

func urlsOf(rs []pageResource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.url)
	}
	return out
}

// TestFirstLoadBytes measures what a first visit downloads: index.html, what
// it links (styles, icon, logo, the preloaded catalog) and every module
// main.js imports statically (not KaTeX, loaded on the first formula), as
// plain bytes and as sent gzipped (bodies only, headers not counted); and how
// many of those a repeat visit must ask the server for again.
// Run: go test -run TestFirstLoadBytes -v ./internal/web/
func TestFirstLoadBytes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := rawClient(t)
	index, _, found := walkPage(t, e, c)
	zipped := getWith(e, c, "/", map[string]string{"Accept-Encoding": "gzip"})
	plain, wire, files, revalidated := len(index.body), len(zipped.body), 1, 1
	for _, r := range found {
		if !r.firstLoad {
			continue
		}
		plain, wire, files = plain+r.plain, wire+r.wire, files+1
		t.Logf("%7d %7d %s", r.plain, r.wire, r.url)
		if r.cache != immutable {
			revalidated++
		}
	}
	t.Logf("first load: %d files, %d bytes (%.0f KB) uncompressed, %d bytes (%.0f KB) transferred; a repeat visit asks the server for %d of them",
		files, plain, float64(plain)/1024, wire, float64(wire)/1024, revalidated)
	if wire >= plain || revalidated != 1 {
		t.Errorf("first load %d bytes sent for %d; %d files revalidated on a repeat visit, want 1 (the page)", wire, plain, revalidated)
	}
}

// The rewrite on a small tree: a changed module changes its own URL in the
// import map only (its importers' bytes do not change, the map routes their
// imports); a changed file that code or a style names by URL changes the URL
// of the file that names it, and so the page.
func TestAssetVersionsFollowContent(t *testing.T) {
	t.Parallel()
	tree := func(edit map[string]string) fstest.MapFS {
		files := map[string]string{
			"index.html":  `<head><meta charset="utf-8"><link rel="stylesheet" href="/static/css/a.css"><script type="module" src="/static/js/main.js"></script></head>`,
			"js/main.js":  `import { h } from './dom.js';` + "\n" + `fetch('/static/data.json');`,
			"js/dom.js":   `export const h = 1;`,
			"js/other.js": `export const o = "../img/x.svg";`,
			"css/a.css":   `.x { background: url(../img/x.svg); } .y { background: url("/static/img/y.svg?keep") }`,
			"img/x.svg":   `<svg/>`,
			"img/y.svg":   `<svg/>`,
			"data.json":   `{}`,
		}
		for k, v := range edit {
			files[k] = v
		}
		out := fstest.MapFS{}
		for k, v := range files {
			out[k] = &fstest.MapFile{Data: []byte(v)}
		}
		return out
	}
	build := func(edit map[string]string) *assetSet {
		t.Helper()
		s, err := buildAssets(tree(edit))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := build(nil)
	v := func(s *assetSet, p string) string { return s.files[p].version }

	if got, want := string(before.files["js/main.js"].body), `import { h } from './dom.js';`+"\n"+`fetch('/static/data.json?v=`+v(before, "data.json")+`');`; got != want {
		t.Errorf("main.js rewritten to %q, want %q", got, want)
	}
	if got, want := string(before.files["css/a.css"].body), `.x { background: url(../img/x.svg?v=`+v(before, "img/x.svg")+`); } .y { background: url("/static/img/y.svg?keep") }`; got != want {
		t.Errorf("a.css rewritten to %q, want %q", got, want)
	}
	if !bytes.Contains(before.indexHTML, []byte(`"/static/js/dom.js":"/static/js/dom.js?v=`+v(before, "js/dom.js")+`"`)) ||
		!bytes.Contains(before.indexHTML, []byte(`src="/static/js/main.js?v=`+v(before, "js/main.js")+`"`)) {
		t.Errorf("index.html: %s", before.indexHTML)
	}

	dom := build(map[string]string{"js/dom.js": `export const h = 2;`})
	if v(dom, "js/dom.js") == v(before, "js/dom.js") || !bytes.Contains(dom.indexHTML, []byte("dom.js?v="+v(dom, "js/dom.js"))) {
		t.Errorf("a changed dom.js kept its version or the import map kept the old one")
	}
	if v(dom, "js/main.js") != v(before, "js/main.js") {
		t.Errorf("main.js's version changed with dom.js although its bytes did not")
	}

	data := build(map[string]string{"data.json": `{"a":1}`})
	if v(data, "js/main.js") == v(before, "js/main.js") || !bytes.Contains(data.indexHTML, []byte("main.js?v="+v(data, "js/main.js"))) {
		t.Errorf("main.js names data.json by URL but kept its version when data.json changed")
	}
	svg := build(map[string]string{"img/x.svg": `<svg></svg>`})
	if v(svg, "css/a.css") == v(before, "css/a.css") || v(svg, "js/main.js") != v(before, "js/main.js") {
		t.Errorf("x.svg changed: a.css %s -> %s, main.js %s -> %s", v(before, "css/a.css"), v(svg, "css/a.css"), v(before, "js/main.js"), v(svg, "js/main.js"))
	}
	if string(svg.files["js/other.js"].body) != `export const o = "../img/x.svg";` {
		t.Errorf("a relative string in JS that is not a static URL was rewritten: %s", svg.files["js/other.js"].body)
	}

	if _, err := buildAssets(tree(map[string]string{"index.html": `<head></head>`})); err == nil {
		t.Errorf("an index.html without <meta charset> built (the import map would have nowhere to go)")
	}
}
