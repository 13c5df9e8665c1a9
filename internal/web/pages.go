package web

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
)

// Page addresses (issue 10 item 1): a conversation, a bot and a workflow each
// have a path (/c/{id}, /b/{id}, /w/{id}) served by the same page, which reads
// the path and opens what it names. Any other page path is a 404 whose body is
// the same page too: it shows its own "not found" view, in the app's style and
// the reader's chosen language (kept in the browser, so the server cannot
// render it). /api/, /static/ and other routed prefixes keep their JSON 404.

// handlePage serves the page for /c/{id}, /b/{id} and /w/{id}; an id that is
// not a Coze id (digits) is a 404.
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if !isDigits(r.PathValue("id"), 30) {
		status = http.StatusNotFound
	}
	s.servePage(w, r, status)
}

// notFoundPage answers GET and HEAD for paths no route matches with the page
// and status 404; everything else (API paths, other methods) goes on to next.
func (s *Server) notFoundPage(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" && isPageRequest(r) {
			s.servePage(w, r, http.StatusNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isPageRequest reports whether r is a browser page load: GET or HEAD of a
// path outside /api/.
func isPageRequest(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		!strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/api"
}

// servePage writes index.html with status, gzipped when the browser takes
// it; a 200 honours If-None-Match like the page at /, a 404 is always sent
// whole.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, status int) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	body := s.static.index.representation(w, r)
	if status == http.StatusOK {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		return
	}
	h.Del("ETag")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// pageConfigJSON is what the page says before anyone hits a limit or a dead
// end (issue 10 items 3 and 4): the message length, files per message, the
// upload size, the file types Coze accepts, and the Coze site of the region
// (where a bot is published).
type pageConfigJSON struct {
	MessageChars    int      `json:"message_chars"`
	FilesPerMessage int      `json:"files_per_message"`
	UploadBytes     int64    `json:"upload_bytes"`
	UploadTypes     []string `json:"upload_types"`
	CozeURL         string   `json:"coze_url"`
}

// handlePageConfig answers GET /api/config. Nothing in it is secret, so it
// needs no session.
func (s *Server) handlePageConfig(w http.ResponseWriter, r *http.Request) {
	site := "https://www.coze.cn"
	if s.d.Region == "com" {
		site = "https://www.coze.com"
	}
	writeJSON(w, http.StatusOK, pageConfigJSON{
		MessageChars:    chat.MaxMessageRunes,
		FilesPerMessage: chat.MaxFiles,
		UploadBytes:     s.d.MaxUploadBytes,
		UploadTypes:     slices.Sorted(maps.Keys(uploadTypes)),
		CozeURL:         site,
	})
}
