package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// querier is what a write needs of the write pool or of a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// StartTurn writes the start of a chat turn in one transaction: the
// conversation (UpsertConversation), the user's message and the assistant's
// placeholder (AddMessage each). It returns the assistant message with its ID.
// Nothing is written when any part fails. On SQLite it shares its
// transaction with the turn writes of concurrent callers (group commit).
func (s *Store) StartTurn(ctx context.Context, c Conversation, user, assistant Message) (Message, error) {
	var out Message
	err := s.grouped(ctx, func(ctx context.Context, q querier) error {
		if err := upsertConversation(ctx, q, c); err != nil {
			return err
		}
		if _, err := addMessage(ctx, q, user); err != nil {
			return err
		}
		var err error
		out, err = addMessage(ctx, q, assistant)
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("start turn in conversation %s: %w", c.ID, err)
	}
	return out, nil
}

// groupCommit gathers the writes of concurrent callers into one SQLite
// transaction: the first caller to find no batch running commits what is
// queued then, so under load one commit (and one WAL append of the pages they
// share) serves many turns, and each statement is prepared once per batch.
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupOp
	running bool
	last    time.Time // when the last batch was committed; the running role's only
	// drainers holds the goroutine that commits the batches queued behind a
	// caller's own; Close waits for it.
	drainers sync.WaitGroup
}

type groupOp struct {
	fn   func(ctx context.Context, q querier) error
	err  error
	done chan struct{}
}

const (
	maxGroup     = 64
	groupTimeout = 10 * time.Second
	// groupSpacing is the least time between two batches. A write that comes alone
	// commits at once; under load the writes queued meanwhile share one commit
	// (BEGIN, COMMIT and the WAL append of the pages they share), so a burst of
	// turns costs one commit per groupSpacing instead of one per turn or two.
	groupSpacing = 3 * time.Millisecond
)

// grouped runs fn in a transaction of its own on PostgreSQL; on SQLite in one
// shared with other callers' functions. fn must only write through q and may
// run twice: when any function of a batch fails, the batch is rolled back and
// each function runs again alone, so one failure fails only its caller. The
// batch runs on a context of its own (bounded by groupTimeout): once queued, a
// write is not abandoned half-way, and the caller waits for its outcome.
func (s *Store) grouped(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	if s.dialect != sqliteDialect {
		return s.inTx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &groupOp{fn: fn, done: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.pending = append(g.pending, op)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		// Commit one batch (it holds op), then leave the rest to a drainer so
		// this caller is not kept writing for others.
		if s.commitNext() {
			g.drainers.Go(func() {
				for s.commitNext() {
				}
			})
		}
	}
	<-op.done
	return op.err
}

// commitNext commits the next batch and reports whether more are queued
// (the caller then keeps the running role); otherwise it gives the role up.
func (s *Store) commitNext() bool {
	g := &s.group
	if wait := groupSpacing - time.Since(g.last); wait > 0 {
		time.Sleep(wait)
	}
	g.mu.Lock()
	ops := g.pending
	if len(ops) > maxGroup {
		ops, g.pending = ops[:maxGroup:maxGroup], ops[maxGroup:]
	} else {
		g.pending = nil
	}
	g.mu.Unlock()
	if len(ops) > 0 {
		s.commitGroup(ops)
		g.last = time.Now()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.running = false
		return false
	}
	return true
}

func (s *Store) commitGroup(ops []*groupOp) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	var unprepared []string
	// After the callers have their outcome: the next batches find these prepared.
	defer func() { s.stmts.add(ctx, s.w, unprepared) }()
	run := func(ops []*groupOp) error {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			q := &preparedTx{tx: tx, cache: &s.stmts}
			defer func() { unprepared = append(unprepared, q.unprepared...); q.close() }()
			for _, op := range ops {
				if err := op.fn(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := run(ops)
	if err != nil && len(ops) > 1 {
		for _, op := range ops {
			op.err = run([]*groupOp{op})
			close(op.done)
		}
		return
	}
	for _, op := range ops {
		op.err = err
		close(op.done)
	}
}

// preparedTx prepares each distinct statement once per transaction, or takes it
// from the writer's statement cache.
type preparedTx struct {
	tx         *sql.Tx
	stmts      map[string]*sql.Stmt
	cache      *stmtCache
	unprepared []string // queries prepared here that the cache has not
}

func (p *preparedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := p.stmts[query]; ok {
		return st
	}
	var st *sql.Stmt
	if base := p.cache.get(query); base != nil {
		st = p.tx.StmtContext(ctx, base) // already prepared on the writer's connection
	} else {
		var err error
		st, err = p.tx.PrepareContext(ctx, query)
		if err != nil {
			return nil // the plain call below reports the error
		}
		p.unprepared = append(p.unprepared, query)
	}
	if p.stmts == nil {
		p.stmts = map[string]*sql.Stmt{}
	}
	p.stmts[query] = st
	return st
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p *preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}

func (p *preparedTx) close() {
	for _, st := range p.stmts {
		st.Close()
	}
}

// stmtCache keeps the statements of group commits prepared on the SQLite writer
// across transactions: preparing (parsing) them for every batch was about 5 % of
// the CPU of a streamed reply (issue 11). A query is added after the batch that
// first used it, outside any transaction: preparing on the one-connection writer
// pool inside one would wait for the connection that transaction holds.
type stmtCache struct {
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	closed bool
}

// maxCachedStmts bounds the cache; the group commits use a handful of queries.
const maxCachedStmts = 32

func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// add prepares the queries the cache does not hold yet on db.
func (c *stmtCache) add(ctx context.Context, db *sql.DB, queries []string) {
	for _, q := range queries {
		c.mu.Lock()
		_, have := c.stmts[q]
		skip := have || c.closed || len(c.stmts) >= maxCachedStmts
		c.mu.Unlock()
		if skip {
			continue
		}
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue // the next batch prepares it in its transaction again
		}
		c.mu.Lock()
		if _, have := c.stmts[q]; have || c.closed {
			st.Close()
		} else {
			if c.stmts == nil {
				c.stmts = make(map[string]*sql.Stmt)
			}
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

// close closes the cached statements; later adds prepare nothing.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	c.stmts, c.closed = nil, true
	return errors.Join(errs...)
}
