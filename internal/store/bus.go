package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Bus carries short messages between the instances using one PostgreSQL
// database, through LISTEN/NOTIFY on one channel per database schema. Every
// instance receives every message, its own included. Delivery is best
// effort: while the listening connection is being re-established messages
// may be lost, so after each reconnect every subscriber is called once with
// msg "" ("anything may have changed"). Chat uses it to wake relays of
// replies that run on another instance and to stop them; the same channel can
// carry cache invalidations.
type Bus struct {
	s       *Store
	channel string
	onError func(error)

	mu   sync.Mutex
	subs map[string]map[*busSub]struct{} // topic => subscribers

	cancel context.CancelFunc
	done   chan struct{}
}

type busSub struct{ fn func(msg string) }

// busPing is how long the listening connection may stay silent before it is
// checked with a ping.
const busPing = 30 * time.Second

// OpenBus starts listening and returns once messages published from now on
// are received. onError (optional) hears why the listening connection was lost
// before it is opened again. On SQLite there is one instance and nothing to
// share: OpenBus returns nil, nil.
func (s *Store) OpenBus(ctx context.Context, onError func(error)) (*Bus, error) {
	if s.dialect != postgres {
		return nil, nil
	}
	var schema string
	if err := s.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("open bus: %w", err)
	}
	if onError == nil {
		onError = func(error) {}
	}
	// Notifications are per database, not per schema: deployments (and tests)
	// sharing a database in different schemas must not hear each other.
	b := &Bus{s: s, channel: fmt.Sprintf("coze2app_%016x", uint64(lockKey("coze2app/bus/"+schema))), onError: onError,
		subs: map[string]map[*busSub]struct{}{}, done: make(chan struct{})}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	ready := make(chan error, 1)
	go b.run(runCtx, ready)
	select {
	case err := <-ready:
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("open bus: %w", err)
		}
	case <-ctx.Done():
		b.Close()
		return nil, fmt.Errorf("open bus: %w", ctx.Err())
	}
	return b, nil
}

// Publish sends msg to the subscribers of topic on every instance. topic must
// not contain ':'; topic and msg together stay under 8000 bytes.
func (b *Bus) Publish(ctx context.Context, topic, msg string) error {
	if _, err := b.s.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, b.channel, topic+":"+msg); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe calls fn with every message published on topic until stop is
// called. fn runs on the bus's one receiving goroutine: it must be quick and
// must not block.
func (b *Bus) Subscribe(topic string, fn func(msg string)) (stop func()) {
	sub := &busSub{fn: fn}
	b.mu.Lock()
	if b.subs[topic] == nil {
		b.subs[topic] = map[*busSub]struct{}{}
	}
	b.subs[topic][sub] = struct{}{}
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs[topic], sub)
		b.mu.Unlock()
	}
}

// Close stops listening and waits for the receiving goroutine.
func (b *Bus) Close() {
	b.cancel()
	<-b.done
}

// run keeps a connection listening, reconnecting with a growing pause.
// ready hears the outcome of the first attempt.
func (b *Bus) run(ctx context.Context, ready chan<- error) {
	defer close(b.done)
	pause := 100 * time.Millisecond
	first := true
	for {
		err := b.listen(ctx, func() {
			if first {
				first = false
				ready <- nil
			} else {
				b.dispatch("", true) // messages may have been lost meanwhile
			}
			pause = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		if first {
			ready <- err
			return
		}
		b.onError(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// listen holds one connection in LISTEN and dispatches what arrives until the
// connection fails or ctx ends. The connection is discarded afterwards, never
// returned to the pool still listening.
func (b *Bus) listen(ctx context.Context, listening func()) error {
	conn, err := b.s.lockDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		pc := c.Conn()
		if _, err := pc.Exec(ctx, `LISTEN `+pgx.Identifier{b.channel}.Sanitize()); err != nil {
			return errors.Join(err, driver.ErrBadConn)
		}
		listening()
		for {
			wctx, cancel := context.WithTimeout(ctx, busPing)
			n, err := pc.WaitForNotification(wctx)
			cancel()
			switch {
			case err == nil:
				b.dispatch(n.Payload, false)
			case ctx.Err() != nil:
				return driver.ErrBadConn
			case wctx.Err() != nil && !pc.IsClosed():
				// Quiet: check the connection is still there.
				if err := pc.Ping(ctx); err != nil {
					return errors.Join(err, driver.ErrBadConn)
				}
			default:
				return errors.Join(err, driver.ErrBadConn)
			}
		}
	})
}

// dispatch calls the subscribers of the payload's topic, or of every topic
// with "" when all is set.
func (b *Bus) dispatch(payload string, all bool) {
	topic, msg, ok := strings.Cut(payload, ":")
	if !ok && !all {
		return
	}
	b.mu.Lock()
	var fns []func(string)
	for t, subs := range b.subs {
		if all || t == topic {
			for sub := range subs {
				fns = append(fns, sub.fn)
			}
		}
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(msg)
	}
}
