package chat

import (
	"context"
	"encoding/json"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// reconcileTimeout bounds the one reconcile attempt after an incomplete reply.
const reconcileTimeout = 15 * time.Second

// recordStart writes the conversation, the user's message and an assistant message in
// status "streaming", in one transaction, as soon as the chat id is known. Only the reader
// goroutine calls it.
func (r *Run) recordStart(convID, chatID string) {
	ctx, cancel := detached(context.Background())
	defer cancel()
	now := time.Now()
	m, err := r.svc.o.Store.StartTurn(ctx,
		store.Conversation{
			ID: convID, UserID: r.userID, BotID: r.req.BotID, BotName: r.req.BotName, BotIconURL: r.req.BotIconURL,
			Title: title(r.req.Message), CreatedAt: now, UpdatedAt: now,
		},
		store.Message{
			ConversationID: convID, UserID: r.userID, Role: "user", Content: r.req.Message,
			ChatID: chatID, Status: store.StatusComplete, CreatedAt: now, UpdatedAt: now,
		},
		store.Message{
			ConversationID: convID, UserID: r.userID, Role: "assistant",
			ChatID: chatID, Status: store.StatusStreaming, CreatedAt: now, UpdatedAt: now,
		})
	r.msgID = m.ID
	if err != nil {
		r.svc.log.Error("chat record start failed", "conversation_id", convID, "chat_id", chatID, "err", err)
	}
}

// recordEnd writes the final state of the reply and publishes it on the Run.
func (r *Run) recordEnd(out outcome, rep *reply) {
	r.mu.Lock()
	convID, chatID := r.convID, r.chatID
	r.result = Result{ConversationID: convID, ChatID: chatID, Answer: rep.answer.joined(),
		Reasoning: rep.reasoning.joined(), Cards: rep.cards, Question: rep.question,
		FollowUps: rep.followUps, Usage: rep.usage}
	r.status, r.errorCode = out.status, out.code
	r.out = out
	res := r.result
	r.mu.Unlock()

	if convID == "" {
		// The stream died before Coze named a conversation: nothing to attach it to.
		r.svc.log.Warn("chat ended before a conversation id", "status", out.status, "code", out.code)
		return
	}
	if r.started != nil {
		if r.startTurn.Stop() {
			r.writeStart(convID, chatID) // ended before the delayed write
		}
		<-r.started
	}
	if r.msgID == 0 {
		// conversation.chat.created never arrived (or its writes failed): write the turn now.
		r.recordStart(convID, chatID)
		if r.msgID == 0 {
			return
		}
	}
	ctx, cancel := detached(context.Background())
	defer cancel()
	err := r.svc.o.Store.UpdateMessage(ctx, store.Message{
		ID: r.msgID, ConversationID: convID, UserID: r.userID, Role: "assistant",
		Content: res.Answer, ChatID: chatID, Status: out.status, ErrorCode: out.code,
		FollowUps: res.FollowUps, Usage: usageJSON(res.Usage), UpdatedAt: time.Now(),
		Reasoning: res.Reasoning, Cards: cardsJSON(res.Cards), Question: questionJSON(res.Question),
	})
	if err != nil {
		r.svc.log.Error("chat record end failed", "chat_id", chatID, "err", err)
	}
}

// reconcile asks Coze once for the final state of an incomplete reply (catalog F.44,
// J.66): if the chat completed upstream (or ended on a workflow question), the stored
// reply is replaced by Coze's, with the same parts the stream would have carried.
func (r *Run) reconcile() {
	r.mu.Lock()
	convID, chatID := r.convID, r.chatID
	r.mu.Unlock()
	if convID == "" || chatID == "" || r.msgID == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.svc.bgCtx, reconcileTimeout)
	defer cancel()
	src := r.svc.o.Tokens.Source(r.userID)
	c, err := r.svc.o.Coze.RetrieveChat(ctx, src, convID, chatID)
	var msgs []coze.Message
	if err == nil && finishedNormally(c) {
		msgs, err = r.svc.o.Coze.ChatMessages(ctx, src, convID, chatID)
	}
	if err != nil || !finishedNormally(c) {
		r.svc.log.Info("chat reconcile skipped", "chat_id", chatID, "status", c.Status, "err", err)
		return
	}
	// The message list has no deltas: each message counts as completed.
	rep := reply{limit: r.svc.o.MaxLogBytes}
	for _, m := range msgs {
		messageParts(m, true, &rep)
	}
	res := Result{ConversationID: convID, ChatID: chatID, Answer: rep.answer.joined(),
		Reasoning: rep.reasoning.joined(), Cards: rep.cards, Question: rep.question,
		FollowUps: rep.followUps, Usage: c.Usage}
	wctx, wcancel := detached(context.Background())
	defer wcancel()
	err = r.svc.o.Store.UpdateMessage(wctx, store.Message{
		ID: r.msgID, ConversationID: convID, UserID: r.userID, Role: "assistant",
		Content: res.Answer, ChatID: chatID, Status: store.StatusComplete,
		FollowUps: res.FollowUps, Usage: usageJSON(c.Usage), UpdatedAt: time.Now(),
		Reasoning: res.Reasoning, Cards: cardsJSON(res.Cards), Question: questionJSON(res.Question),
	})
	if err != nil {
		r.svc.log.Error("chat reconcile write failed", "chat_id", chatID, "err", err)
		return
	}
	r.mu.Lock()
	r.status, r.errorCode = "complete", ""
	r.result = res
	r.mu.Unlock()
}

// finishedNormally reports whether a retrieved chat ended the way a completed stream
// does: completed, or waiting on a workflow question (no function call to run).
func finishedNormally(c coze.Chat) bool {
	switch c.Status {
	case coze.ChatCompleted:
		return true
	case coze.ChatRequiresAction:
		for _, tc := range c.ToolCalls() {
			if tc.Type != "reply_message" {
				return false
			}
		}
		return true
	}
	return false
}

// cardsJSON is the stored form of a reply's cards: a JSON array, nil when none.
func cardsJSON(cards []Card) []byte {
	if len(cards) == 0 {
		return nil
	}
	b, err := json.Marshal(cards)
	if err != nil {
		return nil
	}
	return b
}

// questionJSON is the stored form of a reply's question, nil when none.
func questionJSON(q *Question) []byte {
	if q == nil {
		return nil
	}
	b, err := json.Marshal(q)
	if err != nil {
		return nil
	}
	return b
}

// Usage is the one shape of a reply's token counts: in the end event, in the stored
// message and in every API answer (web uses UsageOf).
type Usage struct {
	TokenCount  int `json:"token_count"`
	OutputCount int `json:"output_count"`
	InputCount  int `json:"input_count"`
}

// UsageOf is u in our shape, nil when Coze sent none.
func UsageOf(u *coze.Usage) *Usage {
	if u == nil {
		return nil
	}
	return &Usage{u.TokenCount, u.OutputCount, u.InputCount}
}

// usageJSON is the stored form of usage.
func usageJSON(u *coze.Usage) []byte {
	if u == nil {
		return nil
	}
	b, err := json.Marshal(UsageOf(u))
	if err != nil {
		return nil
	}
	return b
}
