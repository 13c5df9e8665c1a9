package chat

import (
	"context"
	"errors"
	"time"
)

// The reader lease. Exactly one party reads a run's upstream: the holder of its lease.
// Without a browser that is the run's reader goroutine, so a reply the user did not stop
// finishes and is recorded when the tab closes. A relay (ServeSSE) that is caught up with
// the log claims the lease; the reader goroutine hands it over between two events and
// returns. The relay then reads, translates and appends each event itself and writes it
// to its browser: one wake-up per event instead of three goroutines passing it along,
// and one goroutine fewer per stream. Other relays (a second tab, a resume, the fan-in,
// the cluster's publisher) keep reading the log, which holds every event with the same
// ids as before.
//
// When the relay stops (its browser left, a write failed, Shutdown), it gives the lease
// back: a new reader goroutine goes on reading, or records the outcome the relay already
// read. When the reply ends, the relay sends the end event and records the reply itself
// before its response ends (endHere). The upstream is never cancelled by a leaving browser.
//
// Wait group: whoever holds the lease holds one count in Service.wg, so Shutdown waits
// for every reader. The count moves with the lease: handOver adds the relay's while the
// reader goroutine's own still holds the group open, giveBack starts the next reader
// before it drops the relay's.

// leaseClaim identifies one relay towards the lease by its address, so it must not be
// zero-sized (all zero-sized allocations may share one address).
type leaseClaim struct{ _ byte }

// claimLease asks for the lease on behalf of c, which has sent every logged event. Only a
// chat of this instance is leased; workflow runs and other instances' replies are
// relayed from the log as before.
func (r *Run) claimLease(c *leaseClaim) {
	if r.remote != nil || r.wf != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.claim == nil && r.lessee == nil && !r.finished {
		r.claim = c
	}
}

// holdForRelay gives the lease of a run that has just started, before anyone reads it,
// to the first relay from event 0 (StartRelayed). Its count in wg is added here, as the
// reader goroutine's would be.
func (r *Run) holdForRelay() {
	r.svc.wg.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held = new(leaseClaim)
	r.lessee = r.held
}

// relayClaim returns the claim a new relay from afterID uses: the lease held for it
// since the start (StartRelayed) when it is that first relay, else a fresh claim.
func (r *Run) relayClaim(afterID int64) (c *leaseClaim, holds bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.held; c != nil && afterID == 0 {
		r.held = nil
		return c, true
	}
	return new(leaseClaim), false
}

// holdsLease reports whether c holds the lease.
func (r *Run) holdsLease(c *leaseClaim) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lessee == c
}

// handOver gives the lease to a relay that claimed it. The reader goroutine, which
// calls it between events, returns when it did.
func (r *Run) handOver() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.claim == nil {
		return false
	}
	r.lessee, r.claim = r.claim, nil
	r.svc.wg.Add(1) // the relay's count, while the reader's own still holds wg open
	// The claimant waits on notify; this step may have appended nothing.
	r.wakeLocked()
	return true
}

// giveBack withdraws c's claim, or, if c holds the lease, starts a reader goroutine that
// goes on from pending (nil: reads on; else records that outcome).
func (r *Run) giveBack(c *leaseClaim, pending *outcome) {
	if r.drop(c) {
		r.svc.wg.Go(func() { r.read(pending) })
		r.svc.wg.Done()
	}
}

// endHere is giveBack for a relay that read the run's outcome (ended) and sent its end
// event: the rest of the end (upstream, record) runs on the relay's goroutine, before
// its response ends, instead of on a new one. ended nil: giveBack.
func (r *Run) endHere(c *leaseClaim, ended *outcome) {
	if ended == nil {
		r.giveBack(c, nil)
		return
	}
	if r.drop(c) {
		defer r.svc.wg.Done() // the lease's count (see giveBack)
		r.read(ended)
	}
}

// drop withdraws c's claim and its lease; held reports that c held the lease, whose
// count in wg the caller now carries.
func (r *Run) drop(c *leaseClaim) (held bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.claim == c {
		r.claim = nil
	}
	held = r.lessee == c
	if held {
		r.lessee = nil
	}
	return held
}

// tail appends to dst the events after afterID, for the lease holder, which appends
// them itself and so never waits on notify. lagging as in after.
func (r *Run) tail(dst []event, afterID int64) (evs []event, lagging bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if afterID < r.firstID-1 {
		return dst, true
	}
	if n := int(afterID - r.firstID + 1); n < len(r.events) {
		dst = append(dst, r.events[n:]...)
	}
	return dst, false
}

// errRelayEnded makes every later write of a relay fail: its stream was ended from a
// timer while the relay was reading upstream.
var errRelayEnded = errors.New("relay ended")

// relayLeased relays run while holding its lease: read one upstream event, append, write,
// until the reply ends or the relay stops. A relay that stops gives the lease back and
// returns nil. At the reply's end it appends the end event, sends it with the events
// before it and returns the outcome with the lease still held: the caller ends the run
// (endHere or giveBack) once its browser is served.
func (s *Service) relayLeased(ctx context.Context, sw *sseWriter, run *Run, c *leaseClaim, cursor *int64) (ended *outcome) {
	w := sw.watch(s, run)
	defer w.stop()
	var buf []event
	for {
		if ctx.Err() != nil || s.closingCtx.Err() != nil {
			run.giveBack(c, nil)
			if s.closingCtx.Err() != nil {
				w.endForShutdown()
			}
			return nil
		}
		// Everything that arrived together goes out with one write: the events
		// already received are taken before writing (one syscall, not one each).
		out := run.step()
		for read := true; out == nil && read; {
			out, read = run.stepReceived()
		}
		if out != nil {
			run.appendEnd(out) // the end goes out with the last events
		}
		evs, lagging := run.tail(buf[:0], *cursor)
		if lagging {
			run.giveBack(c, out)
			sw.endLagging(run)
			return nil
		}
		if err := sw.sendEvents(evs); err != nil {
			run.giveBack(c, out)
			s.log.Debug("chat relay write failed", "chat_id", run.ChatID(), "err", err)
			return nil
		}
		if len(evs) > 0 {
			*cursor = evs[len(evs)-1].id
		}
		clear(evs) // release the data
		buf = evs
		if out != nil {
			return out
		}
	}
}

// relayWatch does, while its relay is blocked in an upstream read, what the relay's
// select does otherwise: heartbeats, and the end of the stream when Shutdown starts.
// Both write under the writer's lock from a timer or context callback, no goroutine.
type relayWatch struct {
	sw       *sseWriter
	hb       *time.Timer
	every    time.Duration
	stopShut func() bool
	key      string // the end key for Shutdown
	stopped  bool   // under sw.mu: no more writes from the timer
	shut     bool   // under sw.mu: the shutdown end was written
}

func (sw *sseWriter) watch(s *Service, run *Run) *relayWatch {
	w := &relayWatch{sw: sw, every: s.o.Heartbeat}
	w.hb = time.AfterFunc(w.every, w.ping)
	w.key = run.relayEndKey("server_shutdown")
	w.stopShut = context.AfterFunc(s.closingCtx, w.endForShutdown)
	return w
}

// endForShutdown ends the browser's stream once (sseWriter.shutdown); later writes fail.
func (w *relayWatch) endForShutdown() {
	w.sw.mu.Lock()
	defer w.sw.mu.Unlock()
	if w.shut {
		return
	}
	w.shut = true
	if w.sw.err == nil {
		w.sw.shutdownLocked(w.key)
	}
	w.sw.err = errRelayEnded
}

// ping writes a heartbeat when nothing went out for a heartbeat interval, else waits
// for the rest of it (events do not reset the timer: one timer update fewer per event).
func (w *relayWatch) ping() {
	w.sw.mu.Lock()
	defer w.sw.mu.Unlock()
	if w.stopped || w.sw.err != nil {
		return
	}
	if quiet := time.Since(w.sw.wrote); quiet < w.every {
		w.hb.Reset(w.every - quiet)
		return
	}
	if w.sw.rawLocked(pingComment) == nil {
		w.hb.Reset(w.every)
	}
}

// stop ends the watch; no callback writes after it returned. A shutdown end already
// written stays: the writer keeps refusing writes.
func (w *relayWatch) stop() {
	w.stopShut()
	w.hb.Stop()
	w.sw.mu.Lock()
	w.stopped, w.shut = true, true
	w.sw.mu.Unlock()
}
