package cozesim

import (
	"bytes"
	"net/http"
	"testing"
)

var (
	pngHead = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	wavHead = []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00")
	pdfHead = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
)

// The simulator records at upload what each file is, from its bytes (not its
// name), so a chat item's type can be checked against it (coze-protocol E9).
func TestUploadRecordsSniffedKind(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"photo.png", pngHead, "image"},
		{"photo.jpg", append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{0}, 600)...), "image"},
		{"voice.wav", wavHead, "audio"},
		{"song.mp3", append([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{1}, 1000)...), "audio"},
		{"report.pdf", pdfHead, "file"},
		{"data.csv", []byte("a,b\n1,2\n"), "file"},
		{"disguised.pdf", pngHead, "image"}, // the bytes decide, not the name
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, raw := e.upload(t, tok, "file", map[string][]byte{tt.name: tt.data})
			id := str(dataMap(m), "id")
			if code(m) != 0 || id == "" {
				t.Fatalf("upload: %s", raw)
			}
			if got, _ := dataMap(m)["bytes"].(float64); int(got) != len(tt.data) {
				t.Errorf("bytes = %v, want %d", got, len(tt.data))
			}
			kind, ok := e.sim.fileKind(id)
			if !ok || kind != tt.want {
				t.Errorf("fileKind(%s) = %q, %v; want %q", id, kind, ok, tt.want)
			}
		})
	}
	if kind, ok := e.sim.fileKind("123"); ok || kind != "" {
		t.Errorf("fileKind(unknown) = %q, %v; want \"\", false", kind, ok)
	}
}

// Uploads follow the documented format list exactly (no txt, md or json:
// 4303) and must carry Content-Length: the simulator refuses a chunked body
// (coze-protocol E10).
func TestUploadFramingAndFormats(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	for _, name := range []string{"notes.txt", "README.md", "data.json", "scan.tif", "song.mid", "setup.exe"} {
		if m, raw := e.upload(t, tok, "file", map[string][]byte{name: []byte("hello")}); code(m) != 4303 {
			t.Errorf("%s: %s, want code 4303", name, raw)
		}
	}
	for _, name := range []string{"data.csv", "main.py", "photo.jpeg", "photo.heic", "clip.mkv", "pack.7z"} {
		if m, raw := e.upload(t, tok, "file", map[string][]byte{name: []byte("hello")}); code(m) != 0 {
			t.Errorf("%s: %s, want success", name, raw)
		}
	}

	status, m, b := e.uploadFramed(t, tok, "file", map[string][]byte{"photo.png": pngHead}, true)
	if status != http.StatusLengthRequired || code(m) != 4304 {
		t.Errorf("chunked upload: %d %s, want 411 with code 4304", status, b)
	}
}
