package chat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coze2app/coze2app/internal/store"
)

// Run is one streaming reply. Whoever holds its reader lease (lease.go: its reader
// goroutine, or the one browser relay that took it over) translates the upstream events
// into ours and appends them to an in-memory log with ids 1, 2, 3…; any number of
// ServeSSE calls read the log. A Run ends when the upstream stream ends and the reply
// has been recorded.
type Run struct {
	svc    *Service
	userID int64
	user   store.User
	req    StartRequest
	cancel context.CancelCauseFunc

	mu        sync.Mutex
	events    []event // events[0].id == firstID when non-empty
	firstID   int64   // id of the oldest event still held
	lastID    int64
	bytes     int
	notify    chan struct{} // closed and replaced on every append and at the end, once handed out
	notified  bool          // notify was handed out since it was made: someone may wait on it
	finished  bool          // no more events will be appended
	endedAt   time.Time
	convID    string
	chatID    string
	status    string // store status once recorded
	errorCode string
	result    Result
	out       outcome

	msgID     int64         // local assistant message; set by recordStart, read by the reader goroutine after started
	started   chan struct{} // closed when recordStart finished; nil until the chat id is known (reader goroutine only)
	startTurn *time.Timer   // runs the delayed recordStart (identify); set with started

	done chan struct{} // closed after the reply is recorded (and reconciled)

	wf *workflowRun // set for a workflow run (workflow.go), nil for a chat

	remote *remoteView // set for a reply of another instance (cluster.go)

	up upstreamReader // the upstream and the reply read so far: the lease holder's only

	// The reader lease (lease.go), under mu.
	claim  *leaseClaim // a caught-up relay waiting to take the lease over
	lessee *leaseClaim // the relay holding it; nil while the reader goroutine does
	held   *leaseClaim // the lessee from the start, until its relay takes it (StartRelayed)
}

// event is one entry of the run's log: one of our events (docs/stream-contract.md).
type event struct {
	id   int64
	name string
	data []byte
}

func newRun(s *Service, u store.User, req StartRequest, cancel context.CancelCauseFunc) *Run {
	return &Run{
		svc:     s,
		userID:  u.ID,
		user:    u,
		req:     req,
		cancel:  cancel,
		firstID: 1,
		notify:  make(chan struct{}),
		convID:  req.ConversationID,
		done:    make(chan struct{}),
	}
}

// ChatID returns the Coze chat id, "" until conversation.chat.created arrived.
func (r *Run) ChatID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chatID
}

// ConversationID returns the Coze conversation id ("" for a new conversation until
// conversation.chat.created arrived).
func (r *Run) ConversationID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.convID
}

// UserID returns the local id of the user who started the run.
func (r *Run) UserID() int64 { return r.userID }

// LastEventID returns the id of the newest event in the log (0 if none yet).
func (r *Run) LastEventID() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastID
}

// Done is closed once the reply has been read and recorded.
func (r *Run) Done() <-chan struct{} { return r.done }

// Status returns the recorded store status ("complete", "incomplete", "canceled",
// "failed") and error code, or "streaming" while the run is live.
func (r *Run) Status() (status, errorCode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == "" {
		return store.StatusStreaming, ""
	}
	return r.status, r.errorCode
}

// Result returns the reply as far as it has been read.
func (r *Run) Result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.result
	res.FollowUps = append([]string(nil), res.FollowUps...)
	res.Cards = append([]Card(nil), res.Cards...)
	return res
}

// CheckResume reports whether events after afterID can be served: nil, or an error
// matching ErrBadEventID when afterID is negative, beyond the newest event, or older than
// what the bounded log still holds.
func (r *Run) CheckResume(afterID int64) error {
	if r.remote != nil {
		return r.remoteCheckResume(afterID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checkResumeLocked(afterID)
}

func (r *Run) checkResumeLocked(afterID int64) error {
	switch {
	case afterID < 0:
		return fmt.Errorf("%w: %d is negative", ErrBadEventID, afterID)
	case afterID > r.lastID:
		return fmt.Errorf("%w: %d is beyond the last event %d", ErrBadEventID, afterID, r.lastID)
	case afterID < r.firstID-1:
		return fmt.Errorf("%w: events before %d are no longer held", ErrBadEventID, r.firstID)
	}
	return nil
}

// append adds an event to the log and wakes every subscriber. Old events are dropped
// when the log exceeds MaxLogBytes; the recording state is kept separately.
func (r *Run) append(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.lastID++
	r.events = append(r.events, event{id: r.lastID, name: name, data: data})
	r.bytes += len(name) + len(data)
	for r.bytes > r.svc.o.MaxLogBytes && len(r.events) > 1 {
		r.bytes -= len(r.events[0].name) + len(r.events[0].data)
		r.events[0] = event{} // release the data
		r.events = r.events[1:]
		r.firstID++
	}
	r.wakeLocked()
}

// wakeLocked wakes whoever waits on notify. A fresh channel is only made when the
// current one was handed out: while one relay reads upstream itself nobody waits.
func (r *Run) wakeLocked() {
	if !r.notified {
		return
	}
	close(r.notify)
	r.notify = make(chan struct{})
	r.notified = false
}

// notifyLocked returns the channel closed on the log's next change.
func (r *Run) notifyLocked() <-chan struct{} {
	r.notified = true
	return r.notify
}

// finish marks the log complete and wakes subscribers so they can end.
func (r *Run) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	r.endedAt = time.Now()
	r.wakeLocked()
}

// finishedAt returns when the log was closed.
func (r *Run) finishedAt() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.endedAt, r.finished
}

// after returns the events with id > afterID, the channel that will be closed on the next
// change, and whether the log is finished. lagging is true when events after afterID
// were already dropped.
func (r *Run) after(afterID int64) (evs []event, notify <-chan struct{}, finished, lagging bool) {
	if r.remote != nil {
		return r.remoteAfter(afterID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if afterID < r.firstID-1 {
		return nil, r.notifyLocked(), r.finished, true
	}
	if n := int(afterID - r.firstID + 1); n < len(r.events) {
		// Copy the headers: the truncation above zeroes dropped entries in place.
		evs = append([]event(nil), r.events[n:]...)
	}
	return evs, r.notifyLocked(), r.finished, false
}
