package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// uploadTypes is exactly Coze's documented upload list (coze-protocol §12.1:
// no txt, md or json, which Coze answers with 4303, E10), each extension with
// what net/http.DetectContentType may report for its bytes. The sniff must be
// one of those: a file whose bytes say something else is refused (catalog case
// 57), and "application/octet-stream" means "bytes Go cannot name", never
// "anything". SVG is not accepted at all.
var uploadTypes = func() map[string][]string {
	const (
		octet = "application/octet-stream"
		text  = "text/plain"
		zip   = "application/zip"
		mp4   = "video/mp4"
	)
	return map[string][]string{
		// documents
		".pdf": {"application/pdf"}, ".docx": {zip}, ".xlsx": {zip}, ".pptx": {zip}, ".numbers": {zip},
		".doc": {octet}, ".xls": {octet}, ".ppt": {octet},
		".csv": {text}, ".cpp": {text}, ".py": {text}, ".java": {text}, ".c": {text},
		// images (JPG's other spelling jpeg: the docs' own upload example is "1120.jpeg")
		".jpg": {"image/jpeg"}, ".jpeg": {"image/jpeg"}, ".png": {"image/png"}, ".gif": {"image/gif"},
		".webp": {"image/webp"}, ".bmp": {"image/bmp"},
		".jpg2": {octet}, ".heic": {octet}, ".heif": {octet}, ".pcd": {octet}, ".tiff": {octet},
		// audio
		".wav": {"audio/wave"}, ".mp3": {"audio/mpeg", octet}, ".ogg": {"application/ogg"}, ".midi": {"audio/midi"},
		".flac": {octet}, ".m4a": {octet, mp4}, ".aac": {octet}, ".wma": {octet},
		// video
		".mp4": {mp4, octet}, ".avi": {"video/avi"}, ".webm": {"video/webm"}, ".mkv": {"video/webm", octet},
		".mov": {octet, mp4}, ".3gp": {octet, mp4}, ".3gpp": {octet, mp4}, ".m4v": {mp4, octet},
		".flv": {octet}, ".wmv": {octet}, ".rmvb": {octet},
		// archives
		".zip": {zip}, ".rar": {"application/x-rar-compressed"}, ".gz": {"application/x-gzip"},
		".gzip": {"application/x-gzip"}, ".7z": {octet}, ".bz2": {octet},
	}
}()

// handleUpload accepts one multipart part named "file" and passes it to Coze.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		writeError(w, r, fail(415, "unsupported_media_type.multipart"))
		return
	}
	if !s.takeUploadSlot(u.ID) {
		n := s.d.MaxUploadsPerUser
		writeError(w, r, tooMany("too_many_uploads", 5*time.Second, "n", n))
		return
	}
	defer s.releaseUploadSlot(u.ID)
	r.Body = http.MaxBytesReader(w, r.Body, s.d.MaxUploadBytes+64<<10)
	mr := multipart.NewReader(r.Body, params["boundary"])
	name, spool, size, kind, err := readFilePart(mr, s.d.MaxUploadBytes)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer spool.close()
	// The client seeks the reader back to its start if it retries after a refresh.
	f, err := s.d.Coze.UploadFile(r.Context(), s.d.Auth.Source(u.ID), name, io.NewSectionReader(spool.f, 0, size))
	if err != nil {
		writeError(w, r, err)
		return
	}
	// The kind comes from the bytes we hold, not the name, and is kept here so
	// the chat request never takes it from the browser (coze-protocol E9).
	if err := s.d.Store.PutUploadedFile(r.Context(), store.UploadedFile{UserID: u.ID, ID: f.ID, Kind: kind}); err != nil {
		writeError(w, r, fmt.Errorf("record uploaded file %s: %w", f.ID, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": f.ID, "file_name": f.FileName, "bytes": f.Bytes, "kind": kind})
}

var errUploadTooLarge = fail(413, "too_large.file")

// takeUploadSlot counts one of the user's uploads in flight, or reports that
// they already have MaxUploadsPerUser (issue 8 item 3).
func (s *Server) takeUploadSlot(userID int64) bool {
	s.uploadsMu.Lock()
	defer s.uploadsMu.Unlock()
	if s.uploads[userID] >= s.d.MaxUploadsPerUser {
		return false
	}
	s.uploads[userID]++
	return true
}

func (s *Server) releaseUploadSlot(userID int64) {
	s.uploadsMu.Lock()
	defer s.uploadsMu.Unlock()
	if s.uploads[userID]--; s.uploads[userID] <= 0 {
		delete(s.uploads, userID)
	}
}

// spoolFile holds an upload on disk, not in memory: 20 MiB bodies of many
// users at once would otherwise all sit in the heap (issue 8 item 3).
type spoolFile struct{ f *os.File }

func newSpool() (*spoolFile, error) {
	f, err := os.CreateTemp("", "coze2app-upload-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("spool upload: %w", err)
	}
	// Unlinked at once where the OS allows: nothing is left behind, even
	// after a crash; the open handle keeps the data.
	if runtime.GOOS != "windows" {
		_ = os.Remove(f.Name())
	}
	return &spoolFile{f: f}, nil
}

func (s *spoolFile) close() {
	_ = s.f.Close()
	_ = os.Remove(s.f.Name())
}

// readFilePart finds the part named "file" among at most a few parts, checks
// its name and sniffed type, and spools it to a temporary file of at most
// limit bytes. kind is what the first bytes say the file is (coze.FileKindOfType).
func readFilePart(mr *multipart.Reader, limit int64) (name string, spool *spoolFile, size int64, kind string, err error) {
	for parts := 0; parts < 8; parts++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, 0, "", errUploadTooLarge
			}
			return "", nil, 0, "", badRequest("multipart")
		}
		if p.FormName() != "file" {
			_, _ = io.Copy(io.Discard, io.LimitReader(p, 1<<20))
			continue
		}
		name = cleanFileName(p.FileName())
		ext := strings.ToLower(path.Ext(name))
		allowed, ok := uploadTypes[ext]
		if !ok {
			return "", nil, 0, "", errFileTypeUnsupported
		}
		// The type is sniffed from the first 512 bytes before anything is
		// written to disk.
		head := make([]byte, 512)
		n, err := io.ReadFull(p, head)
		head = head[:n]
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return "", nil, 0, "", uploadReadError(err)
		}
		if n == 0 {
			return "", nil, 0, "", badRequest("file_empty")
		}
		sniffed, _, _ := strings.Cut(http.DetectContentType(head), ";")
		if !typeMatches(sniffed, allowed) {
			return "", nil, 0, "", fail(415, "unsupported_media_type.content_mismatch")
		}
		spool, err = newSpool()
		if err != nil {
			return "", nil, 0, "", err
		}
		size, err = io.Copy(spool.f, io.MultiReader(bytes.NewReader(head), io.LimitReader(p, limit+1-int64(n))))
		if err != nil {
			spool.close()
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", nil, 0, "", fmt.Errorf("spool upload: %w", err)
			}
			return "", nil, 0, "", uploadReadError(err)
		}
		if size > limit {
			spool.close()
			return "", nil, 0, "", errUploadTooLarge
		}
		return name, spool, size, coze.FileKindOfType(sniffed), nil
	}
	return "", nil, 0, "", badRequest("file_missing")
}

func uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errUploadTooLarge
	}
	return badRequest("upload_interrupted")
}

func typeMatches(sniffed string, allowed []string) bool {
	return slices.Contains(allowed, sniffed)
}

// cleanFileName keeps the base name only, without control characters, so a
// name like ../../x is never used as a path (we never write it to disk anyway).
func cleanFileName(s string) string {
	s = strings.ReplaceAll(s, "\\", "/")
	s = path.Base(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, s)
	if len([]rune(s)) > 100 {
		s = string([]rune(s)[len([]rune(s))-100:])
	}
	if s == "." || s == "/" || s == "" {
		s = "upload"
	}
	return s
}
