package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
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
			r := uploadFile(t, e, c, tt.name, tt.data, nil)
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
			r := uploadFile(t, e, c, "pixel.png", pngBytes, map[string]string{"Accept-Language": lang})
			mustStatus(t, "upload", r, http.StatusUnsupportedMediaType)
			eb := r.errorBody()
			zh := lang == "zh-CN"
			if key, _ := r.errorKey(); key != "unsupported_media_type.file_type" || hasHan(eb["message"]) != zh {
				t.Errorf("error = %v, want unsupported_media_type in %s", eb, lang)
			}
			if hint := eb["hint"]; !strings.Contains(hint, "PDF") || !strings.Contains(hint, "JSON") {
				t.Errorf("hint = %q, want the accepted formats and what is not", hint)
			}
		})
	}
}

var (
	wavBytes = []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00\x88\x58\x01\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
	pdfBytes = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
)

// An uploaded file goes to Coze as the item type its bytes say, decided by the
// server at upload: image → "image", audio → "audio", else "file"
// (coze-protocol E9). The upload answer tells the page the kind.
func TestFiles_ChatItemTypeFollowsSniffedKind(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	upload := func(name string, data []byte) (id, kind string) {
		t.Helper()
		r := uploadFile(t, e, c, name, data, nil)
		mustStatus(t, "upload "+name, r, http.StatusOK)
		f := decode[struct{ ID, Kind string }](t, r)
		return f.ID, f.Kind
	}
	png, pngKind := upload("pixel.png", pngBytes)
	wav, wavKind := upload("voice.wav", wavBytes)
	pdf, pdfKind := upload("report.pdf", pdfBytes)
	for _, k := range []struct{ name, got, want string }{{"png", pngKind, "image"}, {"wav", wavKind, "audio"}, {"pdf", pdfKind, "file"}} {
		if k.got != k.want {
			t.Errorf("upload %s: kind = %q, want %q", k.name, k.got, k.want)
		}
	}

	r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "what is in these?",
		"file_ids": []string{png, wav, pdf}, "stream": false})
	mustStatus(t, "chat with files", r, http.StatusOK)

	want := map[string]string{png: "image", wav: "audio", pdf: "file"}
	var seen int
	for _, sr := range e.sim.Requests() {
		if sr.Method != "POST" || sr.Path != "/v3/chat" {
			continue
		}
		var body struct {
			AdditionalMessages []struct {
				Content     string `json:"content"`
				ContentType string `json:"content_type"`
			} `json:"additional_messages"`
		}
		if err := json.Unmarshal(sr.Body, &body); err != nil || len(body.AdditionalMessages) != 1 {
			t.Fatalf("chat body %s: %v", sr.Body, err)
		}
		m := body.AdditionalMessages[0]
		var items []struct {
			Type   string `json:"type"`
			FileID string `json:"file_id"`
		}
		if err := json.Unmarshal([]byte(m.Content), &items); err != nil || m.ContentType != "object_string" {
			t.Fatalf("content %q (%s): %v", m.Content, m.ContentType, err)
		}
		for _, it := range items {
			if it.Type == "text" {
				continue
			}
			seen++
			if want[it.FileID] != it.Type {
				t.Errorf("file %s went as %q, want %q", it.FileID, it.Type, want[it.FileID])
			}
		}
	}
	if seen != 3 {
		t.Errorf("saw %d file items in /v3/chat, want 3", seen)
	}
}

// An attachment alone is a message (the page lets you send one): it streams a reply, and
// Coze gets the file with no empty text item beside it. A message with neither text nor
// files is refused with the field at fault.
func TestChat_AttachmentOnlyMessage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	r := uploadFile(t, e, c, "pixel.png", pngBytes, nil)
	mustStatus(t, "upload", r, http.StatusOK)
	id := decode[struct{ ID string }](t, r).ID

	r = e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "  ", "file_ids": []string{id}, "stream": false})
	mustStatus(t, "chat with an attachment only", r, http.StatusOK)
	if a := decode[struct{ Answer string }](t, r).Answer; a == "" {
		t.Errorf("no answer to an attachment-only message")
	}
	var sent string
	for _, sr := range e.sim.Requests() {
		if sr.Method == "POST" && sr.Path == "/v3/chat" {
			sent = string(sr.Body)
		}
	}
	if !strings.Contains(sent, `\"type\":\"image\"`) || strings.Contains(sent, `\"type\":\"text\"`) {
		t.Errorf("chat body %s: want the image item and no text item", sent)
	}

	r = e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": " "})
	mustStatus(t, "empty message", r, http.StatusBadRequest)
	if eb := r.errorBody(); eb["field"] != "message" || eb["code"] != "bad_request" {
		t.Errorf("empty message error = %v, want bad_request on field message", eb)
	}
}

// TestFilePickerOffersExactlyTheAcceptedFormats keeps the page's file picker in step with
// the formats the upload handler (and Coze, coze-protocol §12) accepts: offering a format
// that is then refused, or hiding one that works, are both bugs a user would meet.
func TestFilePickerOffersExactlyTheAcceptedFormats(t *testing.T) {
	page, err := staticFS.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`id="file-input"[^>]*accept="([^"]*)"`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no accept attribute on #file-input")
	}
	offered := strings.Split(string(m[1]), ",")
	slices.Sort(offered)
	var accepted []string
	for ext := range uploadTypes {
		accepted = append(accepted, ext)
	}
	slices.Sort(accepted)
	if !slices.Equal(offered, accepted) {
		t.Errorf("picker offers %v\nhandler accepts %v", offered, accepted)
	}
}
