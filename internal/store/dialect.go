package store

import (
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/redact"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file holds every difference between the two backends: URL parsing,
// driver settings, DDL types, error codes and lock keys. Query text elsewhere
// is shared.

type dialect string

const (
	sqliteDialect dialect = "sqlite"
	postgres      dialect = "postgres"
)

func (d dialect) driver() string {
	if d == postgres {
		return "pgx"
	}
	return "sqlite"
}

// sqliteDefaults are applied to every pooled connection through the DSN
// (STYLE rule 16). busy_timeout makes concurrent writers wait instead of
// failing with SQLITE_BUSY; _txlock=immediate takes the write lock at BEGIN so
// a transaction cannot hit a lock upgrade deadlock, which busy_timeout does not
// cover.
var sqliteDefaults = []struct{ key, val string }{
	{"_pragma", "busy_timeout(10000)"},
	{"_pragma", "journal_mode(wal)"},
	{"_pragma", "foreign_keys(1)"},
	// In WAL mode NORMAL stays consistent across a crash or kill of the
	// process and fsyncs at checkpoints instead of every commit; only a power
	// loss can drop the last commits.
	{"_pragma", "synchronous(normal)"},
	{"_txlock", "immediate"},
	{"_time_format", "sqlite"},
}

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// keywordDSN spots a libpq "host=… password=…" string, which would otherwise
// be taken for an SQLite file name (and its password printed as a path).
var keywordDSN = regexp.MustCompile(`(?i)(^|\s)(host|hostaddr|dbname|user|password|port|sslmode)\s*=`)

// parseURL maps a database URL to a dialect and driver DSN.
func parseURL(raw string) (dialect, string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "", errors.New("open database: empty database URL")
	}
	scheme := ""
	if m := schemeRE.FindStringSubmatch(raw); m != nil {
		scheme = strings.ToLower(m[1])
	}
	switch scheme {
	case "postgres", "postgresql":
		if _, err := pgconn.ParseConfig(raw); err != nil {
			return "", "", fmt.Errorf("open postgres database %s: bad URL: %w", redact.URL(raw), err)
		}
		return postgres, raw, nil
	case "sqlite":
		dsn, err := sqliteDSN(strings.TrimPrefix(raw[len(scheme)+1:], "//"))
		return sqliteDialect, dsn, err
	case "file":
		dsn, err := sqliteDSN(raw[len(scheme)+1:])
		return sqliteDialect, dsn, err
	case "":
		if keywordDSN.MatchString(raw) {
			return "", "", errors.New("open database: this looks like a PostgreSQL keyword string (host=… password=…); write it as postgres://user:password@host:port/dbname")
		}
		dsn, err := sqliteDSN(raw)
		return sqliteDialect, dsn, err
	default:
		if len(scheme) == 1 { // a Windows drive letter, C:\...
			dsn, err := sqliteDSN(raw)
			return sqliteDialect, dsn, err
		}
		return "", "", fmt.Errorf("open database: unknown URL scheme %q (want sqlite:PATH, file:PATH, a path, or postgres://)", scheme)
	}
}

// sqliteDSN builds "file:PATH?..." with our defaults; parameters given in the
// URL win over defaults with the same key (or the same pragma name).
func sqliteDSN(rest string) (string, error) {
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", errors.New("open sqlite database: empty path")
	}
	if path == ":memory:" || strings.Contains(query, "mode=memory") {
		return "", errors.New("open sqlite database: in-memory databases are not supported (each pooled connection would get its own); use a file path")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("open sqlite database: bad parameters %q: %w", query, err)
	}
	have := map[string]bool{}
	for k, vs := range q {
		have[k] = true
		if k == "_pragma" {
			for _, v := range vs {
				name, _, _ := strings.Cut(v, "(")
				have["_pragma:"+strings.ToLower(strings.TrimSpace(name))] = true
			}
		}
	}
	parts := []string{}
	if query != "" {
		parts = append(parts, query)
	}
	for _, d := range sqliteDefaults {
		key := d.key
		if key == "_pragma" {
			name, _, _ := strings.Cut(d.val, "(")
			key = "_pragma:" + name
		}
		if !have[key] {
			parts = append(parts, d.key+"="+d.val)
		}
	}
	return "file:" + path + "?" + strings.Join(parts, "&"), nil
}

// configureSQLiteWriter gives SQLite's writes a single connection: SQLite
// allows one writer at a time anyway, and queueing in database/sql is fair
// and cheap, where busy_timeout retries sleep and hold a pooled connection.
func configureSQLiteWriter(db *sql.DB) {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
}

func (d dialect) configurePool(db *sql.DB) {
	if d == sqliteDialect {
		// WAL lets readers run alongside the one writer (which has its own
		// pool, configureSQLiteWriter).
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(0)
		return
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
}

// configureLockPool sizes the pool whose connections only hold advisory locks.
// It is separate so lock holders can never starve the queries they wait on.
func configureLockPool(db *sql.DB) {
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(time.Minute)
}

// ddl substitutes the dialect's types into migration text. Only types differ;
// times are BIGINT Unix milliseconds on both.
func (d dialect) ddl(src string) string {
	var r *strings.Replacer
	if d == postgres {
		r = strings.NewReplacer(
			"{{id}}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
			"{{bytes}}", "BYTEA",
		)
	} else {
		r = strings.NewReplacer(
			"{{id}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
			"{{bytes}}", "BLOB",
		)
	}
	return r.Replace(src)
}

// mapErr translates driver errors to store sentinels by code, never by text.
// Unique and primary-key violations become ErrConflict; a foreign-key
// violation means the parent row (user, conversation) is missing, so it
// becomes ErrNotFound. The driver error stays in the chain for logs.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
	}
	return err
}

// Advisory lock keys (PostgreSQL). Keys are 64-bit hashes of a namespaced
// name so they cannot collide with other applications' locks on the same
// database in practice.
var migrationLockKey = lockKey("coze2app/migrations")

// UserLockKey returns the PostgreSQL advisory lock key WithUserLock uses for
// userID, for diagnostics (pg_locks) and tests.
func UserLockKey(userID int64) int64 { return userLockKey(userID) }

func userLockKey(userID int64) int64 {
	return lockKey(fmt.Sprintf("coze2app/user/%d", userID))
}

func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}
