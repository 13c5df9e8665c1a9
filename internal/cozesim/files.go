package cozesim

import (
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
)

type file struct {
	ID, Name, OwnerID string
	Kind              string // "image", "audio" or "file", sniffed at upload
	Bytes, CreatedAt  int64
}

// sniffKind decides what a file is from its first bytes, as a chat must send
// it: an image as an "image" item, audio as "audio", the rest as "file"
// (coze-protocol E9).
func sniffKind(head []byte) string {
	ct := http.DetectContentType(head)
	switch {
	case strings.HasPrefix(ct, "image/"):
		return "image"
	case strings.HasPrefix(ct, "audio/"), ct == "application/ogg":
		return "audio"
	}
	return "file"
}

// fileKind returns the kind sniffed when file id was uploaded, for checking
// a chat's object_string item type against it; false if there is no such
// file. It takes s.mu; use fileKindLocked when holding it.
func (s *Sim) fileKind(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fileKindLocked(id)
}

// fileKindLocked is fileKind with s.mu held.
func (s *Sim) fileKindLocked(id string) (string, bool) {
	f := s.files[id]
	if f == nil {
		return "", false
	}
	return f.Kind, true
}

func (f *file) wire() map[string]any {
	return map[string]any{"id": f.ID, "bytes": f.Bytes, "file_name": f.Name, "created_at": f.CreatedAt}
}

// allowedExt lists exactly the documented upload formats (coze-protocol §12.1):
// no txt, md or json; others get 4303 (E10). jpeg is JPG's other spelling, and
// the docs' own upload example answers "1120.jpeg".
var allowedExt = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`doc docx xls xlsx ppt pptx pdf numbers csv cpp py java c
		jpg jpeg jpg2 png gif webp heic heif bmp pcd tiff wav mp3 flac m4a aac ogg wma midi
		mp4 avi mov 3gp 3gpp flv webm wmv rmvb m4v mkv rar zip 7z gz gzip bz2`) {
		allowedExt[e] = true
	}
}

// POST /v1/files/upload (§12.1): multipart, exactly one part named "file".
// The body is streamed and only counted, so memory stays bounded.
func (s *Sim) handleUpload(w http.ResponseWriter, r *http.Request, t *accessToken) {
	// Every SDK sends Content-Length; a chunked upload is untested against
	// Coze's gateway (coze-protocol E10), so the simulator is strict and
	// refuses one ([I]: 411 with a 4304 envelope).
	if r.ContentLength < 0 {
		writeJSON(w, http.StatusLengthRequired, envelope(4304, "File invalid: the upload must be sent with Content-Length, not chunked", nil, logIDFrom(r.Context())))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		fail(w, r, errf(4300, "File is empty: the request is not multipart/form-data"))
		return
	}
	var name, kind string
	var size int64
	files := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(w, r, errf(4300, "File is empty: bad multipart body"))
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			_, _ = io.Copy(io.Discard, io.LimitReader(part, 1<<20))
			continue
		}
		files++
		if files > 1 {
			fail(w, r, errf(4301, "Only one file can be uploaded at a time"))
			return
		}
		name = part.FileName()
		ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
		if !allowedExt[ext] {
			fail(w, r, errf(4303, "File type not supported: "+ext))
			return
		}
		// Only the first 512 bytes are kept, to sniff the kind; the rest is counted.
		head := make([]byte, 512)
		h, err := io.ReadFull(part, head)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			fail(w, r, errf(4304, "File invalid: read error"))
			return
		}
		kind = sniffKind(head[:h])
		n, err := io.Copy(io.Discard, io.LimitReader(part, s.o.MaxUploadBytes+1-int64(h)))
		n += int64(h)
		if err != nil {
			fail(w, r, errf(4304, "File invalid: read error"))
			return
		}
		if n > s.o.MaxUploadBytes {
			fail(w, r, errf(4302, "File too large"))
			return
		}
		size = n
	}
	if files == 0 || size == 0 {
		fail(w, r, errf(4300, "File is empty"))
		return
	}
	s.mu.Lock()
	f := &file{ID: s.newIDLocked(), Name: name, OwnerID: t.UserID, Kind: kind, Bytes: size, CreatedAt: s.now().Unix()}
	s.files[f.ID] = f
	s.mu.Unlock()
	ok(w, r, f.wire())
}
