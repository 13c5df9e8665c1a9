package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// Our events, the only ones a browser sees (docs/stream-contract.md). Coze's stream is
// decoded once, here, and never relayed as is.
const (
	EventChat      = "chat"      // {"conversation_id","chat_id"}: first
	EventReasoning = "reasoning" // {"message_id","text"}: a fragment of the bot's thinking
	EventDelta     = "delta"     // {"message_id","text"}: a fragment of the answer
	EventCard      = "card"      // {"message_id","card":{…Card…}}
	EventQuestion  = "question"  // {"message_id","text","options"}
	EventFollowUp  = "follow_up" // {"text"}
	EventEnd       = "end"       // {"status","code","message"[,"usage"]}: always last
)

// End statuses of the end event.
const (
	EndCompleted   = "completed"
	EndFailed      = "failed"
	EndCanceled    = "canceled"
	EndInterrupted = "interrupted"
)

// Event names of a self-hosted Coze Studio (coze-protocol E14).
const (
	eventStudioDone      = "conversation.stream.done"
	eventChatCanceled    = "conversation.chat.canceled"
	eventChatCancelledUK = "conversation.chat.cancelled"
)

// maxFollowUps bounds the suggestions kept per reply.
const maxFollowUps = 10

// outcome is how a run ended, in store terms.
type outcome struct {
	status  string // complete | incomplete | canceled | failed
	code    string // store ErrorCode
	key     string // our words for the end: the page's catalog id stream.<key> (docs/stream-contract.md)
	message string // Coze's own words, when it gave some and key is empty
	coze    *coze.APIError
	logged  bool // the end event is in the log already (appendEnd)
}

// endStatus maps a store status to the end event's status.
func endStatus(storeStatus string) string {
	switch storeStatus {
	case store.StatusComplete:
		return EndCompleted
	case store.StatusCanceled:
		return EndCanceled
	case store.StatusFailed:
		return EndFailed
	}
	return EndInterrupted
}

// upstreamReader is what reading the upstream needs; only the holder of the run's reader
// lease touches it (lease.go).
type upstreamReader struct {
	st            *coze.Stream
	ctx           context.Context // the detached run context
	cancelTimeout context.CancelFunc
	idle          *time.Timer // the idle watchdog
	rep           reply       // the reply read so far
}

// newUpstreamReader starts the idle watchdog of a freshly opened upstream (catalog F.46):
// cancelling the run context is what reliably unblocks a body read.
func (r *Run) newUpstreamReader(up upstream) upstreamReader {
	// translate decodes each event before the next is read and keeps none of its
	// bytes: the stream may lend them instead of copying each event.
	up.st.LendData()
	return upstreamReader{
		st: up.st, ctx: up.ctx, cancelTimeout: up.cancelTimeout,
		idle: time.AfterFunc(r.svc.o.IdleTimeout, func() { r.cancel(errIdle) }),
		rep:  reply{limit: r.svc.o.MaxLogBytes},
	}
}

// read is the run's reader goroutine, holding the reader lease: it reads until the reply
// ends, then records it, unless a relay takes the lease over first (then it returns).
// pending is the outcome a relay read before it handed the lease back (nil: none yet).
func (r *Run) read(pending *outcome) {
	out := pending
	for out == nil {
		if r.handOver() {
			return
		}
		out = r.step()
	}
	r.end(out)
}

// step reads one upstream event, translates it and appends our events for it to the log.
// It returns the outcome once the reply ended. Only the lease holder calls it.
func (r *Run) step() *outcome {
	ev, err := r.up.st.Next()
	return r.took(ev, err)
}

// stepReceived is step for an event already received only: read is false, and nothing
// happened, when the bytes received so far hold no complete event.
func (r *Run) stepReceived() (out *outcome, read bool) {
	ev, read, err := r.up.st.NextBuffered()
	if !read {
		return nil, false
	}
	return r.took(ev, err), true
}

// took handles what the upstream gave: an event, or the error that ended it.
func (r *Run) took(ev coze.Event, err error) *outcome {
	if err != nil {
		return r.streamEnd(r.up.ctx, err)
	}
	r.up.idle.Reset(r.svc.o.IdleTimeout)
	// A terminal event ends the translating: what may follow (done, and audio of a
	// voice input, which comes after conversation.chat.completed: coze-py
	// tests/testdata/chat_audio_stream_resp.txt) is not needed; end only reads it
	// off (coze.Stream.Finish) so the connection serves the next chat.
	return r.translate(ev, &r.up.rep)
}

// appendEnd appends the run's end event for out, once. The lease holder calls it: the
// end, or a relay before it sends the end with the events before it and leaves the
// rest of end for after its browser's connection was released (Service.serve).
func (r *Run) appendEnd(out *outcome) {
	if out.logged {
		return
	}
	out.logged = true
	r.up.idle.Stop()
	if out.coze != nil {
		// Coze's failures inside the stream carry no log id of their own; the stream's
		// X-Tt-Logid is what Coze support asks for (coze-protocol E7).
		out.coze.LogID = r.up.st.LogID()
		if coze.ModelFailureCode(out.coze.Code) {
			out.key, out.message = "model_error", ""
		}
	}
	r.append(EventEnd, endData(*out, r.up.rep.usage))
}

// end closes the upstream, appends the end event (unless appendEnd did), records the
// reply and ends the run. It runs on a goroutine counted in the Service's wait group.
func (r *Run) end(out *outcome) {
	s := r.svc
	// Done closes after the run left the live set and freed its user's slot,
	// so whoever waited on it may start the next reply at once.
	defer r.up.cancelTimeout()
	defer close(r.done)
	defer s.runEnded(r)

	rep := &r.up.rep
	r.appendEnd(out)
	if out.status == store.StatusComplete || out.status == store.StatusFailed {
		// Coze ended the reply with an event: read its "done" so the connection
		// serves the next chat (coze.Stream.Finish). The browser has its end already.
		r.up.st.Finish()
	} else {
		r.up.st.Close()
	}
	r.cancel(nil) // release the run context
	r.recordEnd(*out, rep)
	r.finish()
	if s.o.OnRunEnd != nil {
		s.o.OnRunEnd(out.status)
	}
	if out.status == store.StatusIncomplete && out.code != "server_shutdown" {
		// Shutdown has a deadline; a restart reconciles instead (catalog J.66).
		r.reconcile()
	}
}

// translate decodes one Coze event, appends our events for it and returns the outcome of
// a terminal event (or of one we must understand that does not decode: catalog F.45).
// Events we have no use for are not decoded at all.
func (r *Run) translate(ev coze.Event, rep *reply) *outcome {
	malformed := func(err error) *outcome {
		r.svc.log.Warn("chat upstream event malformed", "event", ev.Name, "err", err)
		return &outcome{status: store.StatusIncomplete, code: "upstream_malformed", key: "upstream_malformed"}
	}
	switch ev.Name {
	case "":
		return malformed(errors.New("event without a name"))
	case coze.EventChatCreated, coze.EventChatInProgress:
		c, err := ev.Chat()
		if err != nil {
			return malformed(err)
		}
		if c.ID != "" && c.ConversationID != "" {
			r.identify(c.ConversationID, c.ID)
		}
	case coze.EventMessageDelta, coze.EventMessageCompleted:
		m, err := ev.MessageText()
		if err != nil {
			return malformed(err)
		}
		r.message(m, ev.Name == coze.EventMessageCompleted, rep)
	case coze.EventChatCompleted:
		c, err := ev.Chat()
		if err != nil {
			return malformed(err)
		}
		rep.usage = c.Usage
		return &outcome{status: store.StatusComplete}
	case coze.EventChatRequiresAction:
		c, err := ev.Chat()
		if err != nil {
			return malformed(err)
		}
		if c.Usage != nil {
			rep.usage = c.Usage
		}
		for _, tc := range c.ToolCalls() {
			if tc.Type != "reply_message" {
				return &outcome{status: store.StatusFailed, code: "requires_action", key: "requires_action"}
			}
		}
		// A workflow question node waits for the user's next message: the turn ended
		// normally with the question as the answer (coze-protocol E12; Coze Studio's
		// chatflow example: tool_calls [{"type":"reply_message","function":null}]).
		return &outcome{status: store.StatusComplete}
	case coze.EventChatFailed:
		c, err := ev.Chat()
		if err != nil {
			return malformed(err)
		}
		o := &outcome{status: store.StatusFailed, code: "chat_failed", key: "chat_failed"}
		if c.LastError != nil && c.LastError.Code != 0 {
			msg := coze.RedactCredentials(c.LastError.Msg)
			o.code = strconv.Itoa(c.LastError.Code)
			o.coze = &coze.APIError{HTTPStatus: 200, Code: c.LastError.Code, Msg: msg}
			if m := plainText(msg, 500); m != "" {
				o.key, o.message = "", m
			}
		}
		return o
	case coze.EventError:
		code, msg := ev.StreamError()
		// Coze's error text may echo the access token it was sent (catalog case 29).
		msg = coze.RedactCredentials(msg)
		o := &outcome{status: store.StatusFailed, code: strconv.Itoa(code), message: plainText(msg, 500),
			coze: &coze.APIError{HTTPStatus: 200, Code: code, Msg: msg}}
		if code == 0 {
			o.code = "coze_error"
		}
		if o.message == "" {
			o.key = "coze_error"
		}
		return o
	case eventChatCanceled, eventChatCancelledUK:
		return &outcome{status: store.StatusCanceled, code: "canceled", key: "canceled"}
	case coze.EventDone, eventStudioDone:
		// done without a terminal chat event before it.
		return &outcome{status: store.StatusIncomplete, code: "incomplete", key: "incomplete"}
	}
	// conversation.audio.delta (base64 audio of a voice input) and anything unknown.
	return nil
}

// message translates one message event and appends our events for it.
func (r *Run) message(m coze.Message, completed bool, rep *reply) {
	var buf [2]part // at most two: reasoning and delta
	for _, e := range appendMessageParts(buf[:0], m, completed, rep) {
		r.append(e.name, e.data)
	}
}

// part is one of our events, encoded.
type part struct {
	name string
	data []byte
}

// messageParts adds one Coze message to the reply and returns our events for it.
func messageParts(m coze.Message, completed bool, rep *reply) []part {
	return appendMessageParts(nil, m, completed, rep)
}

// appendMessageParts adds one Coze message to the reply and appends our events for it to
// dst. Only answers and follow-ups count: verbose (knowledge_recall,
// generate_answer_finish, interrupt), function_call, tool_response and knowledge messages
// are never answer text (coze-protocol §16.2), and audio is neither relayed nor stored.
func appendMessageParts(dst []part, m coze.Message, completed bool, rep *reply) []part {
	switch {
	case m.Type == "answer" || (m.Type == "" && m.Role != "user"):
	case m.Type == "follow_up" && completed:
		if t := plainText(m.Content, maxItemRunes*2); t != "" && len(rep.followUps) < maxFollowUps {
			rep.followUps = append(rep.followUps, t)
			return append(dst, part{EventFollowUp, eventJSON(struct {
				Text string `json:"text"`
			}{t})})
		}
		return dst
	default:
		return dst
	}
	switch m.ContentType {
	case "audio":
		return dst
	case "card":
		if !completed {
			return dst // a card only counts whole (coze-protocol §16.2)
		}
		card, q := translateCard(m.Content)
		if q != nil {
			rep.question = q
			return append(dst, part{EventQuestion, eventJSON(struct {
				MessageID string   `json:"message_id"`
				Text      string   `json:"text"`
				Options   []string `json:"options"`
			}{m.ID, q.Text, q.Options})})
		}
		if len(rep.cards) >= maxCardsPerReply {
			return dst
		}
		rep.cards = append(rep.cards, *card)
		return append(dst, part{EventCard, eventJSON(struct {
			MessageID string `json:"message_id"`
			Card      *Card  `json:"card"`
		}{m.ID, card})})
	}
	var thought, answer string
	if completed {
		thought = rep.reasoning.settle(m.ID, cleanText(m.ReasoningContent), rep)
		answer = rep.answer.settle(m.ID, cleanText(m.Content), rep)
	} else {
		thought = rep.reasoning.grow(m.ID, cleanText(m.ReasoningContent), rep)
		answer = rep.answer.grow(m.ID, cleanText(m.Content), rep)
	}
	if thought != "" {
		dst = append(dst, part{EventReasoning, rep.textData(m.ID, thought)})
	}
	if answer != "" {
		dst = append(dst, part{EventDelta, rep.textData(m.ID, answer)})
	}
	return dst
}

// textData is the data of a delta or reasoning event, encoded in the reply's scratch
// buffer and copied out at its exact size (the run's log keeps it).
func (rep *reply) textData(id, text string) []byte {
	rep.scratch = appendTextData(rep.scratch[:0], id, text)
	return bytes.Clone(rep.scratch)
}

// eventJSON encodes the data of a rare event: structs of strings, bools and slices
// of them, which cannot fail to encode.
func eventJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (r *Run) appendJSON(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings and slices of them: cannot fail.
		r.svc.log.Error("chat event encode failed", "event", name, "err", err)
		return
	}
	r.append(name, b)
}

// endData is the body of the end event.
func endData(o outcome, u *coze.Usage) []byte {
	e := struct {
		Status  string `json:"status"`
		Code    string `json:"code"`
		Key     string `json:"key,omitempty"`
		Message string `json:"message"`
		LogID   string `json:"log_id,omitempty"`
		Usage   *Usage `json:"usage,omitempty"`
	}{Status: endStatus(o.status), Code: o.code, Key: o.key, Message: o.message, Usage: UsageOf(u)}
	if o.coze != nil {
		e.LogID = o.coze.LogID
	}
	if e.Status == EndCompleted {
		e.Code, e.Key, e.Message = "", "", ""
	}
	b, _ := json.Marshal(e)
	return b
}

// streamEnd classifies why Next failed before a terminal event.
func (r *Run) streamEnd(ctx context.Context, err error) *outcome {
	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errCanceled):
			return &outcome{status: store.StatusCanceled, code: "canceled", key: "canceled"}
		case errors.Is(cause, errIdle):
			return &outcome{status: store.StatusIncomplete, code: "upstream_idle", key: "upstream_idle"}
		case errors.Is(cause, errShutdown):
			return &outcome{status: store.StatusIncomplete, code: "server_shutdown", key: "server_shutdown"}
		case errors.Is(cause, errReplyTimeout):
			return &outcome{status: store.StatusIncomplete, code: "reply_timeout", key: "reply_timeout"}
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		return &outcome{status: store.StatusIncomplete, code: "incomplete", key: "incomplete"}
	case errors.Is(err, coze.ErrEventTooLarge):
		return &outcome{status: store.StatusIncomplete, code: "upstream_too_large", key: "upstream_too_large"}
	}
	// coze.ErrStreamCut, connection resets and other read errors.
	r.svc.log.Warn("chat upstream stream broken", "chat_id", r.ChatID(), "err", err)
	return &outcome{status: store.StatusIncomplete, code: "upstream_reset", key: "upstream_reset"}
}

// identify learns the conversation and chat ids, makes the run findable, records the
// turn's start and appends our chat event, once.
func (r *Run) identify(convID, chatID string) {
	r.mu.Lock()
	known := r.chatID != ""
	if !known {
		r.convID, r.chatID = convID, chatID
	}
	r.mu.Unlock()
	if known {
		return
	}
	r.svc.register(r, chatID)
	data, _ := json.Marshal(struct {
		ConversationID string `json:"conversation_id"`
		ChatID         string `json:"chat_id"`
	}{convID, chatID})
	if c := r.svc.cl; c != nil {
		// The other instances find the reply as soon as a browser can name it.
		c.claim(r, chatKey(chatID), EventChat, data)
		r.svc.wg.Go(func() { c.publish(r, chatKey(chatID)) })
	}
	r.append(EventChat, data)
	// The turn's start is written beside the relay, turnStartDelay later, so the
	// first deltas neither wait for the database nor compete with its write for
	// the CPU; recordEnd writes it at once if the reply ends sooner, and waits for
	// it. The timer's goroutine needs no place in wg: the reader, which is,
	// waits for started.
	r.started = make(chan struct{})
	r.startTurn = time.AfterFunc(turnStartDelay, func() { r.writeStart(convID, chatID) })
}

// turnStartDelay is how long after Coze named the chat its start is written
// (identify): past the first deltas of the reply.
const turnStartDelay = 50 * time.Millisecond

// writeStart records the turn's start and marks it done.
func (r *Run) writeStart(convID, chatID string) {
	defer close(r.started)
	r.recordStart(convID, chatID)
}

// sanitizeName keeps an event name on one line (ours never have more, but a name must not
// be able to inject SSE fields).
func sanitizeName(name string) string {
	if strings.ContainsAny(name, "\r\n") {
		return strings.NewReplacer("\r", "", "\n", "").Replace(name)
	}
	return name
}

// reply accumulates what was relayed of one reply, so the history holds exactly what the
// browser was sent: the answer and the thinking per message id, cards, the question,
// follow-ups and usage.
type reply struct {
	limit     int // bytes of answer + thinking kept; more is neither relayed nor stored
	bytes     int
	answer    parts
	reasoning parts
	cards     []Card
	question  *Question
	followUps []string
	usage     *coze.Usage
	scratch   []byte // where textData encodes
}

// parts is text per message id in arrival order. A builder per id grows in place:
// appending to a string would copy the whole text at every delta.
type parts struct {
	order []string
	text  map[string]*strings.Builder
}

// of is the text of id so far.
func (p *parts) of(id string) string {
	if b := p.text[id]; b != nil {
		return b.String()
	}
	return ""
}

// grow appends a delta fragment and returns what was accepted ("" when over the limit).
func (p *parts) grow(id, add string, rep *reply) string {
	if add == "" || rep.bytes+len(add) > rep.limit {
		return ""
	}
	b := p.text[id]
	if b == nil {
		if p.text == nil {
			p.text = make(map[string]*strings.Builder)
		}
		b = new(strings.Builder)
		p.text[id] = b
		p.order = append(p.order, id)
	}
	b.WriteString(add)
	rep.bytes += len(add)
	return add
}

// settle takes a completed message's full text and returns what is still to be relayed:
// all of it when nothing was streamed, the missing tail when the deltas were a prefix of
// it (coze-protocol §16.3: completed is the concatenation of the deltas). When the
// deltas disagree with it, what the browser already shows is kept, so the history and
// the live view never differ.
func (p *parts) settle(id, full string, rep *reply) string {
	have := p.of(id)
	if full == "" || full == have || !strings.HasPrefix(full, have) {
		return ""
	}
	return p.grow(id, full[len(have):], rep)
}

// joined is the texts in arrival order, several answers separated by a blank line.
func (p *parts) joined() string {
	out := make([]string, 0, len(p.order))
	for _, id := range p.order {
		if t := p.of(id); t != "" {
			out = append(out, t)
		}
	}
	return cleanText(strings.Join(out, "\n\n"))
}
