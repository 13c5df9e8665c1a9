package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// staticFS holds the page: index.html, css/, js/, img/ and vendor/ (with
// vendor/VERSIONS.txt naming each library's version).
//
//go:embed all:static
var staticFS embed.FS

// Fast first load (issue 10 item 12): text files go out gzipped, and every
// file the page loads is named by a versioned URL, /static/<path>?v=<hash>,
// which browsers may keep for a year without asking again. index.html is
// never cached (no-cache, ETag), so a deploy is seen on the next load.
//
// The version is a query, not a path segment, because then the file keeps its
// path: relative references resolve as before, and the plain URL (or one with
// a stale version, from a page loaded before a deploy) still answers, with
// no-cache. A reference the rewrite missed therefore costs a revalidation,
// never a 404, and nothing is cached for a year under the wrong version.
//
// How the versions reach the browser:
//   - URLs in index.html, CSS url()s and the non-module URLs named in JS (the
//     catalog fetch, the logo) are rewritten once at startup (rewriteRefs);
//   - module imports ('./dom.js', '../vendor/marked.esm.js', import(...)) stay
//     as written and an import map in index.html maps every module's plain URL
//     to its versioned one. A module's version then is its own: a change to
//     dom.js re-downloads dom.js, not every module that imports it; and code
//     that imports a module by its plain path (the e2e tests, a console) gets
//     the page's own instance, not a second copy. The map is inline, so the
//     CSP names its sha256 (assetSet.importMapCSP).
//
// A version hashes the bytes of the file and of every file its rewritten
// references reach, transitively (a Merkle-style closure that needs no order
// and survives cycles): it changes whenever the served body does.

// staticFile is one file as served.
type staticFile struct {
	body        []byte
	etag        string
	version     string // "" for index.html, which is never cached
	contentType string

	gzOnce sync.Once
	gz     []byte // gzipped body; nil when not worth it
	gzETag string
}

// assetSet is the embedded files, rewritten; built once per process.
type assetSet struct {
	files        map[string]*staticFile // by path under static/, index.html excluded
	indexHTML    []byte                 // index.html with the import map and versioned URLs
	importMapCSP string                 // 'sha256-…' of the inline import map
}

// staticFiles serves the asset set plus this server's index.html (which
// names the image sources of its region).
type staticFiles struct {
	*assetSet
	index *staticFile
}

// embeddedAssets builds the asset set from staticFS once.
var embeddedAssets = sync.OnceValues(func() (*assetSet, error) {
	root, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	return buildAssets(root)
})

func loadStatic(imageSources []string) (*staticFiles, error) {
	set, err := embeddedAssets()
	if err != nil {
		return nil, err
	}
	return &staticFiles{assetSet: set, index: newStaticFile("index.html", withImageSources(set.indexHTML, imageSources), "")}, nil
}

// staticURL is the versioned URL of the embedded file p (a path under
// static/), for pages the server writes itself; the plain URL if p is unknown.
func staticURL(p string) string {
	if set, err := embeddedAssets(); err == nil {
		if f, ok := set.files[p]; ok {
			return versionedURL(p, f.version)
		}
	}
	return "/static/" + p
}

// versionedURL is the URL a page names the embedded file p by: cached for a
// year, since a new version is a new URL.
func versionedURL(p, version string) string { return "/static/" + p + "?v=" + version }

func newStaticFile(name string, body []byte, version string) *staticFile {
	sum := sha256.Sum256(body)
	return &staticFile{body: body, etag: `"` + shortHash(sum[:]) + `"`, version: version, contentType: contentTypeOf(name)}
}

// shortHash is 72 bits of a sha256, URL-safe.
func shortHash(sum []byte) string { return base64.RawURLEncoding.EncodeToString(sum[:9]) }

// buildAssets reads every file of root, computes versions and rewrites the
// references (see the comment at the top of this file).
func buildAssets(root fs.FS) (*assetSet, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw[p], err = fs.ReadFile(root, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	refs := map[string][]assetRef{}
	for p, body := range raw {
		refs[p] = findRefs(p, body, raw)
	}
	versions := assetVersions(raw, refs)
	set := &assetSet{files: map[string]*staticFile{}}
	for p, body := range raw {
		if p != "index.html" {
			set.files[p] = newStaticFile(p, rewriteRefs(body, refs[p], versions), versions[p])
		}
	}
	imports := map[string]string{}
	for p := range raw {
		if isModule(p) {
			imports["/static/"+p] = versionedURL(p, versions[p])
		}
	}
	importMap, err := json.Marshal(map[string]any{"imports": imports})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(importMap)
	set.importMapCSP = "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	// The map must come before anything loads a module, and after the
	// charset, which must stay within the first 1024 bytes.
	index := rewriteRefs(raw["index.html"], refs["index.html"], versions)
	anchor := []byte(`<meta charset="utf-8">`)
	if !bytes.Contains(index, anchor) {
		return nil, fmt.Errorf("static/index.html: no %s to put the import map after", anchor)
	}
	tag := append(append(append(anchor, "\n  "+`<script type="importmap">`...), importMap...), "</script>"...)
	set.indexHTML = bytes.Replace(index, anchor, tag, 1)
	return set, nil
}

// assetRef is a reference to another embedded file: body[start:end] is its
// URL as written, target the file's path under static/.
type assetRef struct {
	start, end int
	target     string
}

// refPattern finds URLs that point into static/: quoted ("…", '…') or in a
// CSS url(…), relative (./, ../) or rooted at /static/, without a query.
var refPattern = regexp.MustCompile(`(?:["']|url\(\s*)((?:\.{1,2}/|/static/)[^"'()\s?#\\]+)(?:["')]|\s)`)

// findRefs lists the references of file p (HTML, CSS or JS) that name a file
// in files. In JS only /static/ URLs count: a relative string there is a
// module specifier, left to the import map (any other would resolve against
// the page, not the module, and is not ours to guess).
func findRefs(p string, body []byte, files map[string][]byte) []assetRef {
	switch path.Ext(p) {
	case ".html", ".css", ".js", ".mjs":
	default:
		return nil
	}
	var out []assetRef
	for _, m := range refPattern.FindAllSubmatchIndex(body, -1) {
		url := string(body[m[2]:m[3]])
		target := path.Join(path.Dir(p), url)
		if rest, ok := strings.CutPrefix(url, "/static/"); ok {
			target = path.Clean(rest)
		}
		if _, ok := files[target]; !ok || isModule(p) && (isModule(target) || !strings.HasPrefix(url, "/static/")) {
			continue
		}
		out = append(out, assetRef{start: m[2], end: m[3], target: target})
	}
	return out
}

func isModule(p string) bool { return path.Ext(p) == ".js" || path.Ext(p) == ".mjs" }

// assetVersions gives each file the hash of its bytes and of every file it
// reaches through refs, each named by its path.
func assetVersions(raw map[string][]byte, refs map[string][]assetRef) map[string]string {
	sums := map[string][32]byte{}
	for p, body := range raw {
		sums[p] = sha256.Sum256(body)
	}
	out := map[string]string{}
	for p := range raw {
		reach := map[string]bool{}
		var visit func(string)
		visit = func(q string) {
			if reach[q] {
				return
			}
			reach[q] = true
			for _, r := range refs[q] {
				visit(r.target)
			}
		}
		visit(p)
		h := sha256.New()
		for _, q := range slices.Sorted(maps.Keys(reach)) {
			sum := sums[q]
			h.Write([]byte(q))
			h.Write([]byte{0})
			h.Write(sum[:])
		}
		out[p] = shortHash(h.Sum(nil))
	}
	return out
}

// rewriteRefs appends ?v=<version of the target> to each reference in body.
func rewriteRefs(body []byte, refs []assetRef, versions map[string]string) []byte {
	if len(refs) == 0 {
		return body
	}
	var out bytes.Buffer
	last := 0
	for _, r := range refs {
		out.Write(body[last:r.end])
		out.WriteString("?v=" + versions[r.target])
		last = r.end
	}
	out.Write(body[last:])
	return out.Bytes()
}

func contentTypeOf(p string) string {
	switch path.Ext(p) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// compressible reports whether gzip can shrink a content type: text, JSON,
// SVG and uncompressed fonts (woff and woff2 are compressed already).
func compressible(contentType string) bool {
	t, _, _ := strings.Cut(contentType, ";")
	switch t {
	case "application/json", "image/svg+xml", "font/ttf", "font/otf", "application/vnd.ms-fontobject":
		return true
	}
	return strings.HasPrefix(t, "text/")
}

// gzipped is the body compressed at the best level, computed on first use;
// nil when the type does not compress or gzip would not make it smaller.
func (f *staticFile) gzipped() ([]byte, string) {
	f.gzOnce.Do(func() {
		if !compressible(f.contentType) {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
		_, _ = zw.Write(f.body)                                  // a bytes.Buffer does not fail
		_ = zw.Close()
		if buf.Len() < len(f.body) {
			f.gz = buf.Bytes()
			f.gzETag = strings.TrimSuffix(f.etag, `"`) + `.gz"`
		}
	})
	return f.gz, f.gzETag
}

// representation sets Content-Type, Vary, Content-Encoding and ETag for r
// and returns the bytes to send: gzipped when r accepts it.
func (f *staticFile) representation(w http.ResponseWriter, r *http.Request) []byte {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	gz, gzETag := f.gzipped()
	if gz == nil {
		h.Set("ETag", f.etag)
		return f.body
	}
	h.Add("Vary", "Accept-Encoding")
	if !acceptsGzip(strings.Join(r.Header.Values("Accept-Encoding"), ",")) {
		h.Set("ETag", f.etag)
		return f.body
	}
	h.Set("Content-Encoding", "gzip")
	h.Set("ETag", gzETag)
	// http.ServeContent leaves Content-Length to the caller once there is a
	// Content-Encoding; a Range of gzipped bytes is not worth supporting, so
	// the whole body is sent.
	h.Set("Content-Length", strconv.Itoa(len(gz)))
	r.Header.Del("Range")
	return gz
}

// acceptsGzip reports whether an Accept-Encoding value takes gzip: named (or
// covered by "*") with a quality above zero.
func acceptsGzip(header string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			return qualityAboveZero(params)
		case "*":
			star = qualityAboveZero(params)
		}
	}
	return star
}

// qualityAboveZero reads the q parameter of one Accept-Encoding entry
// (absent means 1).
func qualityAboveZero(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
	}
	return true
}

// immutable is the Cache-Control of a versioned URL: its bytes never change.
const immutable = "public, max-age=31536000, immutable"

// ServeHTTP serves GET /static/{path}.
func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	f, ok := sf.files[name]
	if !ok {
		writeError(w, r, errNotFound)
		return
	}
	// Only the current version is immutable; the plain URL and a stale
	// version get today's bytes, revalidated every time.
	if v := r.URL.Query().Get("v"); v != "" && v == f.version {
		w.Header().Set("Cache-Control", immutable)
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	body := f.representation(w, r)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// handleIndex serves the page itself.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.servePage(w, r, http.StatusOK)
}
