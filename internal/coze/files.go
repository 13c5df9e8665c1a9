package coze

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
)

// File is an uploaded file (coze-protocol §12).
type File struct {
	ID        string `json:"id"`
	FileName  string `json:"file_name"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
}

// UnmarshalJSON accepts numeric or string sizes and timestamps.
func (f *File) UnmarshalJSON(b []byte) error { return decodeLoose(b, f) }

// Kinds of uploaded file. Each is also the object_string item type a chat
// sends the file as: coze-py examples/chat_multimode_stream.py and coze-go
// examples/chats/chat_with_image send an uploaded image as "image", not
// "file", which a vision model might not look at (coze-protocol E9).
const (
	FileKindImage = "image"
	FileKindAudio = "audio"
	FileKindFile  = "file"
)

// FileKindOf decides a file's kind from its first bytes (never its name),
// with http.DetectContentType.
func FileKindOf(data []byte) string { return FileKindOfType(http.DetectContentType(data)) }

// FileKindOfType is FileKindOf for a content type already sniffed from the bytes.
func FileKindOfType(ct string) string {
	switch {
	case strings.HasPrefix(ct, "image/"):
		return FileKindImage
	case strings.HasPrefix(ct, "audio/"), ct == "application/ogg":
		return FileKindAudio
	}
	return FileKindFile
}

// UploadFile uploads body as one multipart part named "file" with the given filename:
// POST /v1/files/upload (§12.1). The request always carries a Content-Length, as all
// three official SDKs send it (coze-go request.go newFileUploadRequest writes a
// bytes.Buffer): chunked uploads are untested against Coze's gateway (coze-protocol
// E10). A body that knows its size and can seek (*io.SectionReader, *bytes.Reader,
// *strings.Reader) is streamed from its current offset between the multipart head and
// tail, so a spooled upload is not held in memory; any other body is read into memory
// first. Cap sizes before calling. Retried only after a refused token (TokenSource); each
// attempt must fit in Options.Timeout.
func (c *Client) UploadFile(ctx context.Context, ts TokenSource, filename string, body io.Reader) (File, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, err := mw.CreateFormFile("file", filename); err != nil {
		return File{}, fmt.Errorf("upload file: %w", err)
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		return File{}, fmt.Errorf("upload file: %w", err)
	}
	tail := buf.Bytes()
	// The body is read again from its start if Coze refuses the token and the upload is
	// retried, so it must be able to seek back; any other body is held in memory.
	sb, ok := body.(sizedSeeker)
	if !ok {
		data, err := io.ReadAll(body)
		if err != nil {
			return File{}, fmt.Errorf("upload file: read body: %w", err)
		}
		sb = bytes.NewReader(data)
	}
	start, err := sb.Seek(0, io.SeekCurrent)
	if err != nil {
		return File{}, fmt.Errorf("upload file: %w", err)
	}
	size := sb.Size() - start
	open := func() (io.Reader, error) {
		if _, err := sb.Seek(start, io.SeekStart); err != nil {
			return nil, err
		}
		return io.MultiReader(bytes.NewReader(head), io.LimitReader(sb, size), bytes.NewReader(tail)), nil
	}
	return callInto[File](ctx, c, apiRequest{method: http.MethodPost, path: "/v1/files/upload",
		raw:    open,
		rawLen: int64(len(head)) + size + int64(len(tail)), contentType: mw.FormDataContentType(), src: ts, perm: "uploadFile"})
}

// sizedSeeker is a body that knows its size and can be read again from its start.
type sizedSeeker interface {
	io.ReadSeeker
	Size() int64
}
