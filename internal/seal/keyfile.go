package seal

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// NewKeySpec returns a fresh key list with one random key "k1".
func NewKeySpec() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new key: %w", err)
	}
	return "k1:" + base64.StdEncoding.EncodeToString(b), nil
}

// LoadOrCreateKeyFile returns the key spec stored at path. On first use it
// writes a fresh random spec to a new file with mode 0600; later starts read it
// back. A file readable or writable by group or others is refused, because the
// key guards every stored token (SECURITY-CATALOG D.28). The returned spec is
// already validated by ParseKeys.
func LoadOrCreateKeyFile(path string) (string, error) {
	spec, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return spec, err
	}
	if err := createKeyFile(path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			return readKeyFile(path)
		}
		return "", err
	}
	return readKeyFile(path)
}

func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read key file: %w", err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("read key file %s: is a directory", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("read key file %s: mode %04o lets group or others access it; run chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return "", fmt.Errorf("read key file: %w", err)
	}
	if len(b) > 64<<10 {
		return "", fmt.Errorf("read key file %s: too large", path)
	}
	spec := strings.TrimSpace(string(b))
	if _, err := ParseKeys(spec); err != nil {
		return "", fmt.Errorf("read key file %s: %w", path, err)
	}
	return spec, nil
}

// createKeyFile writes the spec to a private temporary file, syncs it, and
// publishes it with a hard link, which fails if path exists. So a concurrent
// starter sees either no file or a complete one, never a half-written key.
func createKeyFile(path string) error {
	spec, err := NewKeySpec()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".keyfile-*")
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("create key file: %w", err)
	}
	if err := writeClose(tmp, spec); err != nil {
		return err
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		// Filesystems without hard links: fall back to an exclusive create.
		if err := writeExclusive(path, spec); err != nil {
			return err
		}
	}
	syncDir(dir)
	return nil
}

func writeExclusive(path, spec string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("create key file: %w", err)
	}
	return writeClose(f, spec)
}

// writeClose writes the key line, syncs it to disk and closes f.
func writeClose(f *os.File, spec string) error {
	_, err := f.WriteString(spec + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	return nil
}

// syncDir makes the new directory entry durable; best effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
