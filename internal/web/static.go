package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// staticFS holds the page: index.html, css/, js/, img/ and vendor/ (with
// vendor/VERSIONS.txt naming each library's version).
//
//go:embed all:static
var staticFS embed.FS

// staticFiles serves the embedded files with content-derived ETags:
// embedded files have no modification time, and ServeContent honours
// If-None-Match once the ETag header is set.
type staticFiles struct {
	files map[string]staticFile
}

type staticFile struct {
	body        []byte
	etag        string
	contentType string
}

func loadStatic(imageSources []string) (*staticFiles, error) {
	sf := &staticFiles{files: map[string]staticFile{}}
	root, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		if p == "index.html" {
			body = withImageSources(body, imageSources)
		}
		sum := sha256.Sum256(body)
		sf.files[p] = staticFile{
			body:        body,
			etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
			contentType: contentTypeOf(p),
		}
		return nil
	})
	return sf, err
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

// ServeHTTP serves GET /static/{path}.
func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	sf.serve(w, r, name)
}

func (sf *staticFiles) serve(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := sf.files[name]
	if !ok || name == "index.html" && r.URL.Path != "/" {
		writeError(w, r, errNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	// Revalidate every time: file names carry no version, and a 304 is cheap.
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// handleIndex serves the page itself.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.static.serve(w, r, "index.html")
}
