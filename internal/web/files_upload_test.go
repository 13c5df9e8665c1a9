package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Uploads follow Coze's documented format list exactly (coze-protocol §12.1,
// E10): txt, md and json are refused here with a clear message before any
// call to Coze; documented formats pass; bytes that contradict the name are
// refused even for formats Go cannot sniff.
func TestFiles_OnlyCozesDocumentedFormats(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	tests := []struct {
		name       string
		data       []byte
		wantStatus int
	}{
		{"notes.txt", []byte("meeting notes\n"), 415},
		{"README.md", []byte("# title\n"), 415},
		{"data.json", []byte(`{"a":1}`), 415},
		{"scan.tif", []byte("II*\x00\x08\x00\x00\x00"), 415},
		{"pixel.doc", pngBytes, 415}, // PNG bytes under a name whose bytes Go cannot sniff
		{"table.csv", []byte("a,b\n1,2\n"), 200},
		{"main.py", []byte("print('hi')\n"), 200},
		{"voice.wav", wavBytes, 200},
		{"report.pdf", pdfBytes, 200},
		{"old.doc", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00\x00\x00\x00\x00\x00\x00"), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.sim.Calls("POST /v1/files/upload")
			ct, body := multipartBody(t, "file", tt.name, tt.data)
			r := e.send(c, req{method: "POST", path: "/api/files", ctype: ct, body: body, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			mustStatus(t, tt.name, r, tt.wantStatus)
			calls := e.sim.Calls("POST /v1/files/upload") - before
			if tt.wantStatus != 200 {
				if r.errorCode() != "unsupported_media_type" || calls != 0 {
					t.Errorf("code = %q, Coze calls = %d; want unsupported_media_type and none", r.errorCode(), calls)
				}
				return
			}
			if calls != 1 {
				t.Errorf("Coze calls = %d, want 1", calls)
			}
		})
	}
}

// Coze's 4303 (file type not supported) is told plainly, with the formats
// Coze takes, in the page's language (coze-protocol E7).
func TestFiles_Coze4303IsClear(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	for _, lang := range []string{"en-US", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/files/upload", Times: 1, Code: 4303, Msg: "file type not support"})
			ct, body := multipartBody(t, "file", "pixel.png", pngBytes)
			r := e.send(c, req{method: "POST", path: "/api/files", ctype: ct, body: body,
				hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Accept-Language": lang}})
			mustStatus(t, "upload", r, http.StatusUnsupportedMediaType)
			eb := r.errorBody()
			zh := lang == "zh-CN"
			if eb["code"] != "unsupported_media_type" || hasHan(eb["message"]) != zh {
				t.Errorf("error = %v, want unsupported_media_type in %s", eb, lang)
			}
			if hint := eb["hint"]; !strings.Contains(hint, "PDF") || !strings.Contains(hint, "JSON") {
				t.Errorf("hint = %q, want the accepted formats and what is not", hint)
			}
		})
	}
}
