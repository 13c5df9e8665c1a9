package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Catalog case 80 (issue 8 item 10): secrets come from files, and a secret
// on the command line is warned about.
func TestCase80_SecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o400); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secretFile := write("client_secret", "file-client-secret-123\n")
	keyFile := write("secret_key", "  a passphrase from a systemd credential\n")
	base := map[string]string{"COZE_CLIENT_ID": "123.app.coze", "COZE_REDIRECT_URI": "https://chat.example/callback"}
	env := func(extra map[string]string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return envOf(m)
	}

	c, err := Load(nil, env(map[string]string{"COZE_CLIENT_SECRET_FILE": secretFile, "COZE2APP_SECRET_KEY_FILE": keyFile}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.ClientSecret != "file-client-secret-123" || c.SecretKey != "a passphrase from a systemd credential" {
		t.Errorf("secrets = %q %q, want the files' contents trimmed", string(c.ClientSecret), string(c.SecretKey))
	}
	if s := c.String(); strings.Contains(s, "file-client-secret") || strings.Contains(s, "systemd credential") {
		t.Errorf("config prints a secret read from a file: %s", s)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("warnings for secrets from files: %q", w)
	}

	// Flags take files too.
	c, err = Load([]string{"-client-secret-file", secretFile}, env(nil))
	if err != nil || c.ClientSecret != "file-client-secret-123" {
		t.Errorf("-client-secret-file: %q, %v", string(c.ClientSecret), err)
	}

	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"missing file", map[string]string{"COZE_CLIENT_SECRET_FILE": filepath.Join(dir, "nope")}, "COZE_CLIENT_SECRET_FILE"},
		{"empty file", map[string]string{"COZE2APP_SECRET_KEY_FILE": write("empty", "\n")}, "is empty"},
		{"too large", map[string]string{"COZE2APP_SECRET_KEY_FILE": write("big", strings.Repeat("k", 70<<10))}, "larger than"},
		{"both value and file", map[string]string{"COZE_CLIENT_SECRET": "x", "COZE_CLIENT_SECRET_FILE": secretFile}, "both set"},
		{"a directory", map[string]string{"COZE2APP_SECRET_KEY_FILE": dir}, "COZE2APP_SECRET_KEY_FILE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(nil, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "file-client-secret") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}

	// Secrets as flags work, with a warning that names the flags.
	c, err = Load([]string{"-client-secret", "flag-secret", "-secret-key", "flag passphrase long enough"}, env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, "-client-secret") || !strings.Contains(w, "-secret-key") || !strings.Contains(w, "process arguments") {
		t.Errorf("warnings = %q, want one about secrets as flags", w)
	}
	if strings.Contains(w, "flag-secret") || strings.Contains(w, "flag passphrase") {
		t.Errorf("the warning shows the secret: %q", w)
	}
}
