package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var imageSourcesMeta = regexp.MustCompile(`<meta name="coze2app-image-sources" content="([^"]*)">`)

// Catalog case 76 (issue 8 item 6): CSP img-src lists exactly 'self' and the
// configured region's Coze CDN hosts, and the page is told the same list.
// (The browser side, placeholders and no request to other hosts, is in
// e2e TestCase76_AnswerImages.)
func TestCase76_ImageSourcesAndCSP(t *testing.T) {
	for _, tt := range []struct {
		name   string
		region string
		demo   bool
		img    string
		meta   string
	}{
		{"coze.cn", "cn", false, "'self' https://*.byteimg.com https://*.oceancloudapi.com https://*.coze.cn https://*.byteacctimg.com",
			"https://*.byteimg.com https://*.oceancloudapi.com https://*.coze.cn https://*.byteacctimg.com"},
		{"coze.com", "com", false, "'self' https://*.ciciai.com https://*.ciciaicdn.com https://*.coze.com",
			"https://*.ciciai.com https://*.ciciaicdn.com https://*.coze.com"},
		{"demo", "cn", true, "'self'", "/_sim/assets/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, envOpts{demo: tt.demo, web: func(d *Deps) { d.Region = tt.region }})
			c := e.newClient()
			for _, p := range []string{"/", "/api/auth/status", "/static/js/images.js"} {
				r := e.get(c, p)
				d := cspDirectives(r.header.Get("Content-Security-Policy"))
				if got := strings.Join(d["img-src"], " "); got != tt.img {
					t.Errorf("GET %s: img-src %q, want %q", p, got, tt.img)
				}
			}
			r := e.get(c, "/")
			mustStatus(t, "index", r, http.StatusOK)
			m := imageSourcesMeta.FindStringSubmatch(string(r.body))
			if m == nil || m[1] != tt.meta {
				t.Errorf("index image sources = %v, want %q", m, tt.meta)
			}
		})
	}
}
