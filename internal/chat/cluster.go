package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// Several instances on one PostgreSQL database act as one (issue 13). The instance that
// started a reply (its owner) reads it from Coze as always and also writes every event of
// its log, with the same ids, to the store's reply_events (one INSERT per batch that piled
// up while the previous one was written) and announces each batch on the Bus. Any
// other instance finds the reply there: Lookup returns a view of it that CheckResume and
// ServeSSE read from the table after Last-Event-ID, woken by the Bus (and, should a message
// be lost, by the heartbeat). Stop on another instance tells Coze and asks the owner over
// the Bus to close its stream; the owner records the reply and its end event as for a local
// Stop. Workflow runs are shared the same way under their run id. Without a Bus (SQLite,
// one instance) none of this runs.

// Bus carries short messages between the instances of one deployment (*store.Bus:
// PostgreSQL LISTEN/NOTIFY). Every instance hears every message, its own included;
// delivery is best effort, and after a lost connection each subscriber is called once
// with msg "". fn must be quick and must not block.
type Bus interface {
	Publish(ctx context.Context, topic, msg string) error
	Subscribe(topic string, fn func(msg string)) (stop func())
}

// Bus topics used by chat.
const (
	topicReply  = "reply"  // msg: a chat key whose new events are in reply_events
	topicCancel = "cancel" // msg: "<user id> <key>": its owner stops the reply or workflow run
)

const (
	// replyEventsRetain is how long events stay in reply_events: past any reply's budget.
	replyEventsRetain = time.Hour
	// pruneEvery spaces the deletions of old events by one instance.
	pruneEvery = 5 * time.Minute
	// remoteBatch bounds the events one read of reply_events returns.
	remoteBatch = 500
	// catchUpWait is how long a resume on another instance waits for the owner to
	// write the events its browser already saw.
	catchUpWait = 5 * time.Second
	// remoteCancelWait is how long a Stop on another instance waits for the owner to end
	// the reply before it records the stop itself.
	remoteCancelWait = 5 * time.Second
)

// chatKey and workflowKey name a chat's reply and a workflow run in reply_events and on
// the Bus.
func chatKey(chatID string) string    { return "chat:" + chatID }
func workflowKey(runID string) string { return "wf:" + runID }

// cluster is a Service's part in a deployment of several instances.
type cluster struct {
	s    *Service
	bus  Bus
	stop []func()

	mu      sync.Mutex
	waiters map[string]chan struct{} // chat key => closed when its next events are announced

	lastPrune atomic.Int64 // unix nanoseconds
}

func newCluster(s *Service, bus Bus) *cluster {
	if bus == nil {
		return nil
	}
	c := &cluster{s: s, bus: bus, waiters: map[string]chan struct{}{}}
	c.stop = append(c.stop, bus.Subscribe(topicReply, c.wake), bus.Subscribe(topicCancel, c.onCancel))
	return c
}

// close unsubscribes; called by Shutdown after the last run was written.
func (c *cluster) close() {
	for _, stop := range c.stop {
		stop()
	}
}

// waiter returns a channel closed when new events of key are announced. Take it before
// reading the table, so an announcement between the read and the wait is not missed.
func (c *cluster) waiter(key string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.waiters[key]
	if !ok {
		ch = make(chan struct{})
		c.waiters[key] = ch
	}
	return ch
}

// wake is the Bus subscriber of topicReply: "" wakes everyone.
func (c *cluster) wake(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, ch := range c.waiters {
		if key == "" || k == key {
			close(ch)
			delete(c.waiters, k)
		}
	}
}

// onCancel is the Bus subscriber of topicCancel: the owner of the reply stops it.
func (c *cluster) onCancel(msg string) {
	uid, key, _ := strings.Cut(msg, " ")
	userID, err := strconv.ParseInt(uid, 10, 64)
	if err != nil {
		return
	}
	var r *Run
	var ok bool
	if chatID, isChat := strings.CutPrefix(key, "chat:"); isChat {
		r, ok = c.s.lookupLocal(userID, chatID)
	} else if runID, isWorkflow := strings.CutPrefix(key, "wf:"); isWorkflow {
		r, ok = c.s.lookupWorkflowLocal(userID, runID)
	}
	if ok {
		r.cancel(errCanceled)
	}
}

// publish copies the run's log to reply_events until the run ended, then prunes old
// events now and then. It runs on its own goroutine, counted in the Service's wait group,
// so the upstream reader never waits for the database and Shutdown waits for the last
// batch.
func (c *cluster) publish(r *Run, key string) {
	var cursor int64
	for {
		evs, notify, finished, lagging := r.after(cursor)
		if lagging {
			// The database fell further behind than the bounded log: the events in
			// between are lost, and a relay from the table will say so.
			r.mu.Lock()
			cursor = r.firstID - 1
			r.mu.Unlock()
			c.s.log.Warn("chat events dropped before they were shared", "chat_key", key)
			continue
		}
		if len(evs) > 0 {
			c.write(key, r.userID, evs)
			cursor = evs[len(evs)-1].id
			continue
		}
		if finished {
			c.prune()
			return
		}
		<-notify
	}
}

// claim writes a run's next event before it enters the log, so the reply is found on
// every instance before a browser learns its chat id from that event. Only the reader
// goroutine calls it; publish writes the event again, which changes nothing.
func (c *cluster) claim(r *Run, key, name string, data []byte) {
	c.store(key, r.userID, []event{{id: r.LastEventID() + 1, name: name, data: data}})
}

// store writes events at once, for claim and for a workflow run's first event.
func (c *cluster) store(key string, userID int64, evs []event) {
	ctx, cancel := detached(context.Background())
	defer cancel()
	if err := c.s.o.Store.AppendReplyEvents(ctx, key, userID, replyEvents(evs)); err != nil {
		c.s.log.Error("chat reply not shared", "key", key, "err", err)
	}
}

func replyEvents(evs []event) []store.ReplyEvent {
	rows := make([]store.ReplyEvent, len(evs))
	for i, ev := range evs {
		rows[i] = store.ReplyEvent{ID: ev.id, Name: ev.name, Data: ev.data}
	}
	return rows
}

// write stores one batch and announces it, trying twice.
func (c *cluster) write(key string, userID int64, evs []event) {
	rows := replyEvents(evs)
	var err error
	for try := 0; try < 2; try++ {
		ctx, cancel := detached(context.Background())
		err = c.s.o.Store.AppendReplyEvents(ctx, key, userID, rows)
		if err == nil {
			err = c.bus.Publish(ctx, topicReply, key)
		}
		cancel()
		if err == nil {
			return
		}
	}
	c.s.log.Error("chat events not shared", "chat_key", key, "first_id", evs[0].id, "err", err)
}

// prune deletes events older than replyEventsRetain, at most every pruneEvery.
func (c *cluster) prune() {
	now := time.Now()
	last := c.lastPrune.Load()
	if now.UnixNano()-last < int64(pruneEvery) || !c.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	ctx, cancel := detached(context.Background())
	defer cancel()
	if _, err := c.s.o.Store.DeleteReplyEventsBefore(ctx, now.Add(-replyEventsRetain)); err != nil {
		c.s.log.Warn("delete old chat events", "err", err)
	}
}

// remoteView is a Run of another instance as seen from reply_events by one relay.
type remoteView struct {
	key      string
	finished bool      // at lookup, the newest event held was the end
	ended    bool      // the relay read the end event
	lastAt   time.Time // when events last arrived
}

// lookupRemote finds userID's reply chatID in reply_events. The Run it returns serves
// CheckResume and ServeSSE from there; ChatID, ConversationID, UserID, LastEventID and
// (once ended) Status answer.
func (s *Service) lookupRemote(userID int64, chatID string) (*Run, bool) {
	if !validID(chatID) {
		return nil, false
	}
	return s.remoteRun(userID, chatKey(chatID), func(r *Run, first store.ReplyEvent) {
		r.chatID = chatID
		var ids struct {
			ConversationID string `json:"conversation_id"`
		}
		if first.Name == EventChat && json.Unmarshal(first.Data, &ids) == nil {
			r.convID = ids.ConversationID
		}
	})
}

// lookupWorkflowRemote is lookupRemote for a workflow run; RunID and EndStatus answer.
func (s *Service) lookupWorkflowRemote(userID int64, runID string) (*Run, bool) {
	if !ValidRunID(runID) {
		return nil, false
	}
	return s.remoteRun(userID, workflowKey(runID), func(r *Run, first store.ReplyEvent) {
		r.wf = &workflowRun{id: runID}
		var ids struct {
			WorkflowID string `json:"workflow_id"`
		}
		if first.Name == EventRun && json.Unmarshal(first.Data, &ids) == nil {
			r.wf.workflowID = ids.WorkflowID
		}
	})
}

// remoteRun is the view of the events held under key, if they are userID's; fill
// completes it from the oldest event.
func (s *Service) remoteRun(userID int64, key string, fill func(r *Run, first store.ReplyEvent)) (*Run, bool) {
	if s.cl == nil {
		return nil, false
	}
	ctx, cancel := detached(context.Background())
	defer cancel()
	first, last, err := s.o.Store.ReplyEventBounds(ctx, key, userID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("chat lookup in shared events", "key", key, "err", err)
		}
		return nil, false
	}
	r := &Run{svc: s, userID: userID, firstID: first.ID, lastID: last.ID,
		notify: make(chan struct{}), done: make(chan struct{}),
		remote: &remoteView{key: key, finished: last.Name == EventEnd, lastAt: time.Now()}}
	var end struct {
		Status string `json:"status"`
	}
	if last.Name == EventEnd && json.Unmarshal(last.Data, &end) == nil {
		r.status = (&workflowEnd{Status: end.Status}).storeStatus()
	}
	fill(r, first)
	return r, true
}

// remoteCheckResume is CheckResume for a reply of another instance: an afterID beyond
// the newest event written waits up to catchUpWait, since the owner may not have
// written yet what its relay already sent.
func (r *Run) remoteCheckResume(afterID int64) error {
	if afterID < 0 {
		return fmt.Errorf("%w: %d is negative", ErrBadEventID, afterID)
	}
	c := r.svc.cl
	deadline := time.NewTimer(catchUpWait)
	defer deadline.Stop()
	for {
		wake := c.waiter(r.remote.key)
		ctx, cancel := detached(context.Background())
		first, last, err := r.svc.o.Store.ReplyEventBounds(ctx, r.remote.key, r.userID)
		cancel()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadEventID, err)
		}
		r.mu.Lock()
		r.firstID, r.lastID = first.ID, last.ID
		err = r.checkResumeLocked(afterID)
		r.mu.Unlock()
		if err == nil || afterID < last.ID {
			return err
		}
		select {
		case <-wake:
		case <-deadline.C:
			return err
		}
	}
}

// remoteAfter is after for a reply of another instance: the next events from
// reply_events, stopping at a gap or at the end event. lagging reports a gap (events
// never written, or already deleted) and an owner silent for longer than its own limits
// allow (ownerSilence: it is gone): the relay then ends without the run's end.
func (r *Run) remoteAfter(afterID int64) (evs []event, notify <-chan struct{}, finished, lagging bool) {
	rv, s := r.remote, r.svc
	if rv.ended {
		return nil, nil, true, false
	}
	notify = s.cl.waiter(rv.key)
	ctx, cancel := detached(context.Background())
	rows, err := s.o.Store.ReplyEventsAfter(ctx, rv.key, r.userID, afterID, remoteBatch)
	cancel()
	if err != nil {
		// Tried again on the next announcement or heartbeat.
		s.log.Warn("chat read of shared events failed", "chat_key", rv.key, "err", err)
		return nil, notify, false, false
	}
	for _, row := range rows {
		if row.ID != afterID+int64(len(evs))+1 {
			break
		}
		evs = append(evs, event{id: row.ID, name: row.Name, data: row.Data})
		if row.Name == EventEnd {
			rv.ended = true
			break
		}
	}
	switch {
	case len(evs) > 0:
		rv.lastAt = time.Now()
	case len(rows) > 0:
		lagging = true // a gap right after afterID
	case time.Since(rv.lastAt) > r.ownerSilence():
		lagging = true
	}
	return evs, notify, rv.ended, lagging
}

// ownerSilence is how long the owner of a run may write nothing before it counts as
// gone: past its own idle limit for a chat; a workflow may stay silent for minutes
// (COZE2APP_WORKFLOW_IDLE, enforced by the owner's Coze client), so only its budget
// bounds it.
func (r *Run) ownerSilence() time.Duration {
	if r.wf != nil {
		return workflowBudget
	}
	return r.svc.o.IdleTimeout + r.svc.o.Heartbeat
}

// cancelRemote is Cancel for a reply of another instance. handled is false when the owner
// did not end the reply within remoteCancelWait (it is gone): the caller then records the
// stop itself.
func (s *Service) cancelRemote(ctx context.Context, u store.User, run *Run, convID string) (handled bool, err error) {
	rc := run.ConversationID()
	if rc == "" {
		return false, nil
	}
	if convID != "" && rc != convID {
		return true, ErrNotFound
	}
	// As for a local run: Coze first, then the owner closes its stream.
	_, err = s.o.Coze.CancelChat(ctx, s.o.Tokens.Source(u.ID), rc, run.chatID)
	if coze.IsChatFinished(err) {
		err = nil
	}
	if err != nil {
		s.log.WarnContext(ctx, "chat upstream cancel failed", "chat_id", run.chatID, "err", err)
	}
	return s.cl.stopRemote(ctx, run), nil
}

// stopRemote asks the owner of a reply or workflow run of another instance to stop it and
// waits up to remoteCancelWait for its end. It reports whether the end arrived (or ctx
// ended first); false means the owner is gone.
func (c *cluster) stopRemote(ctx context.Context, run *Run) bool {
	key := run.remote.key
	if run.remote.finished {
		return true
	}
	if err := c.bus.Publish(ctx, topicCancel, strconv.FormatInt(run.userID, 10)+" "+key); err != nil {
		c.s.log.WarnContext(ctx, "chat cancel not announced", "key", key, "err", err)
		return false
	}
	deadline := time.NewTimer(remoteCancelWait)
	defer deadline.Stop()
	for {
		wake := c.waiter(key)
		qctx, cancel := detached(ctx)
		_, last, err := c.s.o.Store.ReplyEventBounds(qctx, key, run.userID)
		cancel()
		if err == nil && last.Name == EventEnd {
			return true
		}
		select {
		case <-wake:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return true
		}
	}
}
