package cozesim

import (
	"context"
	"sync"
	"time"
)

// Clock tells the simulator what time it is. Tests pass a *FakeClock.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// sleeper is a Clock the simulator can also wait on (FakeClock: until Advance).
type sleeper interface {
	Sleep(ctx context.Context, d time.Duration) bool
}

// sleep waits d on the simulator's clock, or until ctx ends; it reports whether d
// elapsed. Only waits that stand for Coze's own time (a workflow node thinking for
// minutes) use it; pacing between deltas stays in real time.
func (s *Sim) sleep(ctx context.Context, d time.Duration) bool {
	if c, ok := s.clock.(sleeper); ok {
		return c.Sleep(ctx, d)
	}
	return sleepCtx(ctx, d)
}

// FakeClock is a Clock that only moves when Advance is called. It is safe for
// concurrent use.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
	changed chan struct{} // closed (and replaced) whenever waiters changes
}

type fakeWaiter struct {
	until time.Time
	wake  chan struct{}
}

// NewFakeClock returns a FakeClock set to t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now returns the fake current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the fake clock forward by d, waking the sleepers it passes.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.wakeLocked()
}

// Set moves the fake clock to t, waking the sleepers it passes.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	c.wakeLocked()
}

// Sleep waits until the clock has been moved d forward, or ctx ends; it reports
// whether the time passed.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.mu.Lock()
	if d <= 0 {
		c.mu.Unlock()
		return ctx.Err() == nil
	}
	w := &fakeWaiter{until: c.now.Add(d), wake: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.notifyLocked()
	c.mu.Unlock()
	select {
	case <-w.wake:
		return true
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.waiters {
			if x == w {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				c.notifyLocked()
				return false
			}
		}
		return true // woken at the same moment
	}
}

// Sleepers returns how many Sleep calls are waiting.
func (c *FakeClock) Sleepers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// WaitForSleepers blocks until at least n Sleep calls are waiting, or ctx ends. Tests use
// it to move the clock only once the simulator is holding a stream.
func (c *FakeClock) WaitForSleepers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.waiters) >= n {
			c.mu.Unlock()
			return nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *FakeClock) wakeLocked() {
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if c.now.Before(w.until) {
			keep = append(keep, w)
		} else {
			close(w.wake)
		}
	}
	clear(c.waiters[len(keep):])
	if len(keep) != len(c.waiters) {
		c.waiters = keep
		c.notifyLocked()
	}
}

func (c *FakeClock) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}
