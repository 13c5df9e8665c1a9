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
	"path"
	"strings"
	"unicode"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
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
	r.Body = http.MaxBytesReader(w, r.Body, s.d.MaxUploadBytes+64<<10)
	mr := multipart.NewReader(r.Body, params["boundary"])
	name, data, err := readFilePart(mr, s.d.MaxUploadBytes)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var f coze.File
	err = s.d.Auth.Do(r.Context(), u.ID, func(ctx context.Context, tok coze.AccessToken) error {
		var err error
		f, err = s.d.Coze.UploadFile(ctx, tok, name, bytes.NewReader(data))
		return err
	})
	if err != nil {
		writeError(w, r, needs("uploadFile", err))
		return
	}
	// The kind comes from the bytes we hold, not the name, and is kept here so
	// the chat request never takes it from the browser (coze-protocol E9).
	kind := coze.FileKindOf(data)
	if err := s.d.Store.PutUploadedFile(r.Context(), store.UploadedFile{UserID: u.ID, ID: f.ID, Kind: kind}); err != nil {
		writeError(w, r, fmt.Errorf("record uploaded file %s: %w", f.ID, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": f.ID, "file_name": f.FileName, "bytes": f.Bytes, "kind": kind})
}

var errUploadTooLarge = &apiError{Status: 413, Code: "too_large", En: "The file is too large.", Zh: "文件过大。"}

// readFilePart finds the part named "file" among at most a few parts and
// checks its name, size and sniffed type.
func readFilePart(mr *multipart.Reader, limit int64) (string, []byte, error) {
	for parts := 0; parts < 8; parts++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, errUploadTooLarge
			}
			return "", nil, badRequest("The multipart body is malformed.", "multipart 内容格式错误。")
		}
		if p.FormName() != "file" {
			_, _ = io.Copy(io.Discard, io.LimitReader(p, 1<<20))
			continue
		}
		name := cleanFileName(p.FileName())
		ext := strings.ToLower(path.Ext(name))
		allowed, ok := uploadTypes[ext]
		if !ok {
			return "", nil, &apiError{Status: 415, Code: "unsupported_media_type",
				En: "This file type is not supported by Coze.", Zh: "Coze 不支持该文件类型。"}
		}
		data, err := io.ReadAll(io.LimitReader(p, limit+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, errUploadTooLarge
			}
			return "", nil, badRequest("The upload was interrupted.", "上传被中断。")
		}
		if int64(len(data)) > limit {
			return "", nil, errUploadTooLarge
		}
		if len(data) == 0 {
			return "", nil, badRequest("The file is empty.", "文件为空。")
		}
		sniffed, _, _ := strings.Cut(http.DetectContentType(data), ";")
		if !typeMatches(sniffed, allowed) {
			return "", nil, &apiError{Status: 415, Code: "unsupported_media_type",
				En: "The file's content does not match its extension.", Zh: "文件内容与扩展名不符。"}
		}
		return name, data, nil
	}
	return "", nil, badRequest("No part named file was found.", "未找到名为 file 的文件字段。")
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
