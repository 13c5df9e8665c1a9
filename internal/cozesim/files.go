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
	Bytes, CreatedAt  int64
}

func (f *file) wire() map[string]any {
	return map[string]any{"id": f.ID, "bytes": f.Bytes, "file_name": f.Name, "created_at": f.CreatedAt}
}

// allowedExt lists the documented upload formats (§12.1).
var allowedExt = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`doc docx xls xlsx ppt pptx pdf numbers csv cpp py java c
		jpg jpeg jpg2 png gif webp heic heif bmp pcd tiff tif wav mp3 flac m4a aac ogg wma midi mid
		mp4 avi mov 3gp 3gpp flv webm wmv rmvb m4v mkv rar zip 7z gz gzip bz2 txt md json`) {
		allowedExt[e] = true
	}
}

// POST /v1/files/upload (§12.1): multipart, exactly one part named "file".
// The body is streamed and only counted, so memory stays bounded.
func (s *Sim) handleUpload(w http.ResponseWriter, r *http.Request, t *accessToken) {
	mr, err := r.MultipartReader()
	if err != nil {
		fail(w, r, errf(4300, "File is empty: the request is not multipart/form-data"))
		return
	}
	var name string
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
		n, err := io.Copy(io.Discard, io.LimitReader(part, s.o.MaxUploadBytes+1))
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
	f := &file{ID: s.newIDLocked(), Name: name, OwnerID: t.UserID, Bytes: size, CreatedAt: s.now().Unix()}
	s.files[f.ID] = f
	s.mu.Unlock()
	ok(w, r, f.wire())
}

// GET /v1/files/retrieve?file_id= (§12.2): own files only.
func (s *Sim) handleFileRetrieve(w http.ResponseWriter, r *http.Request, t *accessToken) {
	id := r.URL.Query().Get("file_id")
	s.mu.Lock()
	f := s.files[id]
	s.mu.Unlock()
	if f == nil || f.OwnerID != t.UserID {
		fail(w, r, errf(4200, "File not found: "+id))
		return
	}
	ok(w, r, f.wire())
}
