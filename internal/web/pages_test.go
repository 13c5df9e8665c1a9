package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/chat"
)

// Issue 10 item 1: conversations, bots and workflows have addresses served by
// the page itself; other page paths are the page's designed 404, never JSON;
// /api/ and /static/ keep the JSON 404; every answer has the security headers.
func TestPageAddresses(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	anon := e.newClient()
	const page, json = "text/html; charset=utf-8", "application/json; charset=utf-8"
	for _, tt := range []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/c/7501234567890123456", 200, page},
		{"GET", "/b/7480000000000000001", 200, page},
		{"GET", "/w/7490000000000000001", 200, page},
		{"HEAD", "/c/1", 200, page},
		{"GET", "/c/abc", 404, page},                        // not a Coze id
		{"GET", "/b/" + strings.Repeat("1", 31), 404, page}, // too long for one
		{"GET", "/w/1%3Cscript%3E", 404, page},              // ids are digits only
		{"GET", "/c/1/extra", 404, page},                    // no deeper paths
		{"GET", "/nope", 404, page},                         // unknown page path
		{"GET", "/settings/", 404, page},                    // unknown page path
		{"HEAD", "/nope", 404, page},                        // HEAD too
		{"GET", "/api/nope", 404, json},                     // the API keeps JSON
		{"GET", "/api/c/1", 404, json},                      // even for page-like ids
		{"GET", "/static/nope.js", 404, json},               // assets keep JSON
		{"POST", "/nope", 404, json},                        // not a page load
		{"POST", "/c/1", 405, json},                         // routed for GET only
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.send(anon, req{method: tt.method, path: tt.path, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			mustStatus(t, tt.path, r, tt.status)
			if ct := r.header.Get("Content-Type"); ct != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", ct, tt.ctype)
			}
			checkCSP(t, r.header.Get("Content-Security-Policy"))
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
				if got := r.header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			switch {
			case tt.method == "HEAD":
				if len(r.body) != 0 {
					t.Errorf("HEAD body = %d bytes, want none", len(r.body))
				}
			case tt.ctype == page:
				if !strings.Contains(string(r.body), `<script type="module" src="/static/js/main.js">`) {
					t.Errorf("body is not the page: %.200s", r.body)
				}
				if cc := r.header.Get("Cache-Control"); cc != "no-cache" {
					t.Errorf("Cache-Control = %q, want no-cache", cc)
				}
			default:
				if r.errorCode() == "" {
					t.Errorf("body is not our JSON error: %.200s", r.body)
				}
			}
		})
	}
}

// The page at an address revalidates like the page at /: same ETag, 304.
func TestPageAddressETag(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := e.newClient()
	root := e.send(c, req{method: "GET", path: "/"})
	tag := root.header.Get("ETag")
	conv := e.send(c, req{method: "GET", path: "/c/123"})
	if tag == "" || conv.header.Get("ETag") != tag || string(conv.body) != string(root.body) {
		t.Fatalf("/c/123 ETag %q, / ETag %q (bodies equal: %v)", conv.header.Get("ETag"), tag, string(conv.body) == string(root.body))
	}
	mustStatus(t, "revalidate", e.send(c, req{method: "GET", path: "/c/123", hdr: map[string]string{"If-None-Match": tag}}), http.StatusNotModified)
}

// Issue 10 items 3 and 4: the page learns its limits from the server, the
// same numbers the server enforces, and where Coze's site is.
func TestPageConfig(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{maxUpload: 3 << 20, web: func(d *Deps) { d.Region = "com" }})
	r := e.send(e.newClient(), req{method: "GET", path: "/api/config"})
	mustStatus(t, "config", r, http.StatusOK)
	got := decode[pageConfigJSON](t, r)
	if got.CozeURL != "https://www.coze.com" {
		t.Errorf("coze_url = %q for region com", got.CozeURL)
	}
	if got.MessageChars != chat.MaxMessageRunes || got.FilesPerMessage != chat.MaxFiles || got.UploadBytes != 3<<20 {
		t.Errorf("limits = %+v, want message %d, files %d, upload %d", got, chat.MaxMessageRunes, chat.MaxFiles, 3<<20)
	}
	if len(got.UploadTypes) != len(uploadTypes) || !slices.Contains(got.UploadTypes, ".pdf") || slices.Contains(got.UploadTypes, ".txt") {
		t.Errorf("upload types = %v, want exactly the accepted extensions", got.UploadTypes)
	}
}
