package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/coze"
)

// uploadTypes maps the extensions we pass to Coze (REFERENCE §12) to the
// content types sniffed from their first bytes. A file whose bytes disagree
// with its name is refused (catalog case 57). SVG is not accepted at all.
var uploadTypes = map[string][]string{
	".png": {"image/png"}, ".jpg": {"image/jpeg"}, ".jpeg": {"image/jpeg"}, ".gif": {"image/gif"},
	".webp": {"image/webp"}, ".bmp": {"image/bmp"},
	".pdf": {"application/pdf"},
	".txt": {"text/plain"}, ".csv": {"text/plain"}, ".md": {"text/plain"},
	".py": {"text/plain"}, ".java": {"text/plain"}, ".c": {"text/plain"}, ".cpp": {"text/plain"},
	".docx": {"application/zip"}, ".xlsx": {"application/zip"}, ".pptx": {"application/zip"},
	".doc": {"application/octet-stream"}, ".xls": {"application/octet-stream"}, ".ppt": {"application/octet-stream"},
	".mp3": {"audio/mpeg", "application/octet-stream"}, ".wav": {"audio/wave"},
	".mp4": {"video/mp4", "application/octet-stream"}, ".zip": {"application/zip"},
}

// handleUpload accepts one multipart part named "file" and passes it to Coze.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		writeError(w, r, &apiError{Status: 415, Code: "unsupported_media_type",
			En: "Upload the file as multipart/form-data with a part named file.", Zh: "请以 multipart/form-data 上传，字段名为 file。"})
		return
	}
	if !s.takeUploadSlot(u.ID) {
		n := s.d.MaxUploadsPerUser
		writeError(w, r, tooMany("too_many_uploads", 5*time.Second,
			fmt.Sprintf("You already have %d uploads in progress. Wait for one to finish.", n),
			fmt.Sprintf("您已有 %d 个文件正在上传，请等待其中一个完成。", n)))
		return
	}
	defer s.releaseUploadSlot(u.ID)
	r.Body = http.MaxBytesReader(w, r.Body, s.d.MaxUploadBytes+64<<10)
	mr := multipart.NewReader(r.Body, params["boundary"])
	name, spool, size, err := readFilePart(mr, s.d.MaxUploadBytes)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer spool.close()
	var f coze.File
	err = s.d.Auth.Do(r.Context(), u.ID, func(ctx context.Context, tok coze.AccessToken) error {
		var err error
		// A fresh reader per attempt: a retry after a refresh sends it all again.
		f, err = s.d.Coze.UploadFile(ctx, tok, name, io.NewSectionReader(spool.f, 0, size))
		return err
	})
	if err != nil {
		writeError(w, r, needs("uploadFile", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": f.ID, "file_name": f.FileName, "bytes": f.Bytes})
}

var errUploadTooLarge = &apiError{Status: 413, Code: "too_large", En: "The file is too large.", Zh: "文件过大。"}

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
// limit bytes.
func readFilePart(mr *multipart.Reader, limit int64) (string, *spoolFile, int64, error) {
	for parts := 0; parts < 8; parts++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, 0, errUploadTooLarge
			}
			return "", nil, 0, badRequest("The multipart body is malformed.", "multipart 内容格式错误。")
		}
		if p.FormName() != "file" {
			_, _ = io.Copy(io.Discard, io.LimitReader(p, 1<<20))
			continue
		}
		name := cleanFileName(p.FileName())
		ext := strings.ToLower(path.Ext(name))
		allowed, ok := uploadTypes[ext]
		if !ok {
			return "", nil, 0, &apiError{Status: 415, Code: "unsupported_media_type",
				En: "This file type is not supported by Coze.", Zh: "Coze 不支持该文件类型。"}
		}
		// The type is sniffed from the first 512 bytes before anything is
		// written to disk.
		head := make([]byte, 512)
		n, err := io.ReadFull(p, head)
		head = head[:n]
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return "", nil, 0, uploadReadError(err)
		}
		if n == 0 {
			return "", nil, 0, badRequest("The file is empty.", "文件为空。")
		}
		sniffed, _, _ := strings.Cut(http.DetectContentType(head), ";")
		if !typeMatches(sniffed, allowed) {
			return "", nil, 0, &apiError{Status: 415, Code: "unsupported_media_type",
				En: "The file's content does not match its extension.", Zh: "文件内容与扩展名不符。"}
		}
		spool, err := newSpool()
		if err != nil {
			return "", nil, 0, err
		}
		size, err := io.Copy(spool.f, io.MultiReader(bytes.NewReader(head), io.LimitReader(p, limit+1-int64(n))))
		if err != nil {
			spool.close()
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", nil, 0, fmt.Errorf("spool upload: %w", err)
			}
			return "", nil, 0, uploadReadError(err)
		}
		if size > limit {
			spool.close()
			return "", nil, 0, errUploadTooLarge
		}
		return name, spool, size, nil
	}
	return "", nil, 0, badRequest("No part named file was found.", "未找到名为 file 的文件字段。")
}

func uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errUploadTooLarge
	}
	return badRequest("The upload was interrupted.", "上传被中断。")
}

func typeMatches(sniffed string, allowed []string) bool {
	for _, a := range allowed {
		if sniffed == a || a == "application/octet-stream" {
			return true
		}
	}
	return false
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
