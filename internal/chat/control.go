package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// Complete runs one turn to the end and returns the reply: the non-stream contract of
// POST /api/chat. It consumes the stream server-side, so recording is the same as for
// Start. Errors before the stream are Start's; a reply that fails is *coze.APIError
// (Coze's `error` event or conversation.chat.failed) or *StreamError. If ctx ends first,
// the reply still finishes and is recorded.
func (s *Service) Complete(ctx context.Context, u store.User, req StartRequest) (Result, error) {
	run, err := s.Start(ctx, u, req)
	if err != nil {
		return Result{}, err
	}
	select {
	case <-run.Done():
	case <-ctx.Done():
		return Result{}, context.Cause(ctx)
	}
	res := run.Result()
	run.mu.Lock()
	status, out := run.status, run.out
	run.mu.Unlock()
	switch {
	case status == store.StatusComplete:
		return res, nil
	case out.coze != nil:
		return res, fmt.Errorf("chat %s: %w", res.ChatID, out.coze)
	}
	return res, &StreamError{Code: out.code, Key: out.key, Message: out.message}
}

// Cancel stops the user's chat chatID (catalog G.50): the local run's upstream body is
// closed, its relays get a final `end` {"status":"canceled"}, the partial reply is recorded as
// canceled, and Coze is told through /v3/chat/cancel (4104, already finished, is fine).
// A chat that is neither a live run of this user nor recorded for this user is
// ErrNotFound; convID, if given, must match.
func (s *Service) Cancel(ctx context.Context, u store.User, convID, chatID string) error {
	if !validID(chatID) || (convID != "" && !validID(convID)) {
		return ErrNotFound
	}
	run, live := s.Lookup(u.ID, chatID)
	if live && run.remote != nil {
		if handled, err := s.cancelRemote(ctx, u, run, convID); handled {
			return err
		}
		live = false // its instance is gone: record the stop here
	}
	var stored store.Message
	if live {
		rc := run.ConversationID()
		if convID != "" && rc != convID {
			return ErrNotFound
		}
		convID = rc
	} else {
		m, err := s.o.Store.MessageByChatID(ctx, u.ID, chatID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("cancel chat %s: %w", chatID, err)
		}
		if convID != "" && m.ConversationID != convID {
			return ErrNotFound
		}
		convID, stored = m.ConversationID, m
	}

	// Tell Coze first, while our stream is still open: closing it first would let Coze
	// (and the simulator, §19 Q13) finish the chat as completed, keeping the turn as
	// context and billing the rest. Coze's cancel only flips the status (coze-protocol
	// §15.4); closing our stream afterwards is what stops the typing.
	_, err := s.o.Coze.CancelChat(ctx, s.o.Tokens.Source(u.ID), convID, chatID)
	if coze.IsChatFinished(err) {
		err = nil
	}
	if live {
		run.cancel(errCanceled)
		if err != nil {
			// The local stop already happened; Coze will end the chat by itself.
			s.log.WarnContext(ctx, "chat upstream cancel failed", "chat_id", chatID, "err", err)
		}
		select {
		case <-run.Done():
		case <-ctx.Done():
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("cancel chat %s: %w", chatID, err)
	}
	if stored.Status == store.StatusStreaming {
		// No live run here (another instance, or one that died): record the stop.
		stored.Status, stored.ErrorCode, stored.UpdatedAt = store.StatusCanceled, "canceled", time.Now()
		wctx, cancel := detached(ctx)
		defer cancel()
		if err := s.o.Store.UpdateMessage(wctx, stored); err != nil {
			return fmt.Errorf("record cancel of chat %s: %w", chatID, err)
		}
	}
	return nil
}

// Shutdown stops accepting Starts, ends every relay with a `retry:` hint and a final
// `end` {"status":"interrupted","code":"server_shutdown"}, and waits for live replies to finish and be
// recorded. When ctx ends first, the remaining replies are cancelled and recorded as
// incomplete (code "server_shutdown"); Shutdown then returns ctx's error after every
// reader goroutine has returned. Call it before (or alongside) http.Server.Shutdown, which
// waits for the relays to return.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
		s.closeRelays()
	}
	runs := make([]*Run, 0, len(s.live))
	for r := range s.live {
		runs = append(runs, r)
	}
	s.mu.Unlock()

	var err error
wait:
	for _, r := range runs {
		select {
		case <-r.Done():
		case <-ctx.Done():
			err = context.Cause(ctx)
			break wait
		}
	}
	if err != nil {
		s.bgStop()
		for _, r := range runs {
			r.cancel(errShutdown)
		}
	}
	s.wg.Wait()
	s.bgStop()
	if s.cl != nil {
		s.cl.close()
	}
	if err != nil {
		return fmt.Errorf("chat shutdown: %w", err)
	}
	return nil
}
