package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Secrets can come from files (issue 8 item 10): systemd credentials
// ($CREDENTIALS_DIRECTORY/…) and container secrets (/run/secrets/…) are files,
// and a file is the one place no other user or process listing sees.

// maxSecretFile bounds a secret file; a key list of a few keys is far smaller.
const maxSecretFile = 64 << 10

// secretFromFile sets *value from path when path is not empty. Setting both
// the value and its file is an error: which one wins would be a guess.
func secretFromFile(value *string, path, name string) error {
	if path == "" {
		return nil
	}
	if strings.TrimSpace(*value) != "" {
		return fmt.Errorf("%s and %s_FILE are both set; set one", name, name)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s_FILE: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return fmt.Errorf("%s_FILE: read %s: %w", name, path, err)
	}
	if len(b) > maxSecretFile {
		return fmt.Errorf("%s_FILE: %s is larger than %d bytes", name, path, maxSecretFile)
	}
	v := strings.TrimSpace(string(b)) // editors and echo add a final newline
	if v == "" {
		return fmt.Errorf("%s_FILE: %s is empty", name, path)
	}
	*value = v
	return nil
}

// secretsOnCommandLine lists the secret flags that were given: any user of
// the machine can read a process's arguments (ps, /proc/PID/cmdline).
func secretsOnCommandLine(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "client-secret" || f.Name == "secret-key" {
			out = append(out, "-"+f.Name)
		}
	})
	return out
}

// flagWarnings is the part of Warnings about secrets on the command line.
func (c Config) flagWarnings() []string {
	if len(c.secretFlags) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s given as a flag: other users of this machine can read process arguments; use COZE_CLIENT_SECRET_FILE / COZE2APP_SECRET_KEY_FILE or the environment",
		strings.Join(c.secretFlags, " and "))}
}
