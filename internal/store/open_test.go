package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		wantDialect dialect
		wantDSN     string // prefix; "" = don't check
		wantErr     string // substring; "" = success
	}{
		{"sqlite scheme", "sqlite:/data/c.db", sqliteDialect, "file:/data/c.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=foreign_keys(1)&_pragma=synchronous(normal)&_txlock=immediate&_time_format=sqlite", ""},
		{"sqlite scheme with slashes", "sqlite:///data/c.db", sqliteDialect, "file:/data/c.db?", ""},
		{"plain path", "data/c.db", sqliteDialect, "file:data/c.db?_pragma=busy_timeout", ""},
		{"file URL", "file:c.db", sqliteDialect, "file:c.db?_pragma", ""},
		{"user pragma wins", "sqlite:c.db?_pragma=busy_timeout(1)", sqliteDialect, "file:c.db?_pragma=busy_timeout(1)&_pragma=journal_mode(wal)", ""},
		{"postgres", "postgres://u@h:5432/db?sslmode=disable", postgres, "postgres://u@h:5432/db?sslmode=disable", ""},
		{"postgresql", "postgresql://u@h/db", postgres, "postgresql://u@h/db", ""},
		{"unknown scheme", "mysql://u@h/db", "", "", `unknown URL scheme "mysql"`},
		{"unknown scheme no slashes", "redis:foo", "", "", "unknown URL scheme"},
		{"empty", "  ", "", "", "empty database URL"},
		{"memory", "sqlite::memory:", "", "", "in-memory"},
		{"memory mode", "file:x?mode=memory", "", "", "in-memory"},
		{"empty sqlite path", "sqlite:", "", "", "empty path"},
		{"bad postgres URL", "postgres://u@h:notaport/db", "", "", "bad URL"},
		{"bad sqlite params", "sqlite:c.db?%zz", "", "", "bad parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, dsn, err := parseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseURL(%q) err = %v, want containing %q", tt.url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseURL(%q): %v", tt.url, err)
			}
			if d != tt.wantDialect {
				t.Errorf("dialect = %q, want %q", d, tt.wantDialect)
			}
			if !strings.HasPrefix(dsn, tt.wantDSN) {
				t.Errorf("dsn = %q, want prefix %q", dsn, tt.wantDSN)
			}
		})
	}
}

func TestParseURLRedactsPassword(t *testing.T) {
	_, _, err := parseURL("postgres://u:hunter2hunter2@h:bad/db")
	if err == nil || strings.Contains(err.Error(), "hunter2hunter2") {
		t.Errorf("err = %v; want an error without the password", err)
	}
}

func TestOpenFails(t *testing.T) {
	tests := []struct {
		name, url string
	}{
		{"missing directory", "sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "c.db")},
		{"unknown scheme", "mongodb://localhost/x"},
		{"unreachable postgres", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.url)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want error", tt.url)
			}
		})
	}
}

// TestSQLitePragmasOnEveryConn: the DSN settings reach every pooled
// connection, not just the first.
func TestSQLitePragmasOnEveryConn(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	var conns []interface{ Close() error }
	for i := range 4 {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var fk, busy int
		var mode string
		if err := c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || busy != 10000 || mode != "wal" {
			t.Errorf("conn %d: foreign_keys=%d busy_timeout=%d journal_mode=%s; want 1, 10000, wal", i, fk, busy, mode)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestMapErr(t *testing.T) {
	if err := mapErr(nil); err != nil {
		t.Errorf("mapErr(nil) = %v", err)
	}
	other := errors.New("boom")
	if err := mapErr(other); err != other {
		t.Errorf("mapErr(other) = %v, want unchanged", err)
	}
	if err := mapErr(context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("mapErr(Canceled) = %v", err)
	}
}

func TestEscapeLike(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"50%", `50\%`},
		{"a_b", `a\_b`},
		{`c:\x`, `c:\\x`},
		{"天气", "天气"},
	}
	for _, tt := range tests {
		if got := escapeLike(tt.in); got != tt.want {
			t.Errorf("escapeLike(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- c\nCREATE TABLE a (x INT);\n\nCREATE INDEX i ON a (x);\n")
	want := []string{"CREATE TABLE a (x INT);", "CREATE INDEX i ON a (x);"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitStatements = %q, want %q", got, want)
	}
}

func TestMigrationsLoad(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %s has number %d, want %d (no gaps)", m.name, m.version, i+1)
		}
		for _, d := range []dialect{sqliteDialect, postgres} {
			if strings.Contains(d.ddl(m.sql), "{{") {
				t.Errorf("%s on %s: unreplaced placeholder", m.name, d)
			}
		}
	}
}

// TestSQLiteFileModes: the database and its WAL are private to the owner.
func TestSQLiteFileModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.UpsertUser(t.Context(), User{CozeUserID: "1", Region: "cn"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode = %04o, want 0600", filepath.Base(p), perm)
		}
	}
}
