// Package store is coze2app's persistence: users, sessions, pending sign-ins,
// sealed Coze tokens and local chat history, on SQLite (modernc.org/sqlite,
// pure Go) or PostgreSQL (pgx through database/sql).
//
// One SQL text with $N placeholders runs on both backends; the few dialect
// differences live in dialect.go. Times are stored as INTEGER Unix
// milliseconds on both, so values come back truncated to the millisecond, in
// UTC. Driver errors are translated to ErrNotFound and ErrConflict here, by
// error code, so callers never import a driver.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/coze2app/coze2app/internal/redact"
)

// ErrNotFound means the row does not exist, or belongs to another user.
var ErrNotFound = errors.New("store: not found")

// ErrConflict means a row with the same key already exists.
var ErrConflict = errors.New("store: conflict")

// Store is the database handle. It is safe for concurrent use.
type Store struct {
	db      *sql.DB // reads (and everything on PostgreSQL)
	w       *sql.DB // writes: on SQLite one connection, so writers queue in Go instead of spinning on the file lock; on PostgreSQL the same pool as db
	lockDB  *sql.DB // PostgreSQL only: connections that hold per-user advisory locks
	dialect dialect
	group   groupCommit // SQLite: turn writes of concurrent callers share a commit (turn.go)
	stmts   stmtCache   // SQLite: the group commits' statements, prepared once on the writer (turn.go)
}

// Open connects to the database named by url, applies pending migrations and
// returns the Store. Accepted forms:
//
//	sqlite:PATH, file:PATH, PATH        SQLite file (created if missing)
//	postgres://..., postgresql://...    PostgreSQL (pgx URL, e.g. ?sslmode=disable&search_path=x)
//
// On PostgreSQL migrations run under a session advisory lock, so instances
// starting together migrate once.
func Open(ctx context.Context, url string) (*Store, error) {
	s, err := open(ctx, url)
	// Drivers may quote the URL they were given; no password leaves here
	// (issue 8 item 11).
	return s, redact.Error(err, url)
}

func open(ctx context.Context, url string) (*Store, error) {
	d, dsn, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	if d == sqliteDialect {
		if err := createPrivateFile(dsn); err != nil {
			return nil, err
		}
	}
	s := &Store{dialect: d}
	s.db, err = sql.Open(d.driver(), dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d, err)
	}
	d.configurePool(s.db)
	s.w = s.db
	// A second pool: SQLite's single writer, or PostgreSQL's lock holders.
	second, configure := &s.w, configureSQLiteWriter
	if d == postgres {
		second, configure = &s.lockDB, configureLockPool
	}
	if *second, err = sql.Open(d.driver(), dsn); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open %s database: %w", d, err)
	}
	configure(*second)
	err = s.db.PingContext(ctx)
	if err == nil {
		err = s.migrate(ctx)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s database %s: %w", d, redact.URL(url), err)
	}
	return s, nil
}

// Close closes every connection, after the group commit's drainer (turn.go) is done.
func (s *Store) Close() error {
	s.group.drainers.Wait()
	errs := []error{s.stmts.close()}
	if s.lockDB != nil {
		errs = append(errs, s.lockDB.Close())
	}
	if s.w != nil && s.w != s.db {
		errs = append(errs, s.w.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// Ping checks that the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect, err)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return string(s.dialect) }

// DB returns the underlying pool. For tests only.
func (s *Store) DB() *sql.DB { return s.db }

// inTx runs fn in a transaction on the write pool. On SQLite the DSN makes
// every BEGIN an IMMEDIATE one, so a transaction never fails half-way with
// SQLITE_BUSY when it starts writing.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return mapErr(tx.Commit())
}

type scanner interface{ Scan(dest ...any) error }

// rowsQuerier is a pool or a transaction, as a read needs it.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query on db (a pool or a transaction) and scans every row with
// scan. Driver errors come back through mapErr.
func queryAll[T any](ctx context.Context, db rowsQuerier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// execCount runs a write on the write pool and returns how many rows it
// changed.
func (s *Store) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// affectedOne maps "no row changed" to ErrNotFound.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// createPrivateFile creates a missing SQLite database file with mode 0600
// before the driver does (it would use 0644). SQLite gives the -wal and -shm
// files the database file's mode, so session hashes and sealed tokens stay
// private to the service user. An existing file is left as it is.
func createPrivateFile(dsn string) error {
	path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	return f.Close()
}
