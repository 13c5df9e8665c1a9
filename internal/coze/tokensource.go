package coze

import (
	"context"
	"fmt"
)

// TokenSource gives the client the access token of one user's requests and a fresh one
// when Coze refuses it (the shape of golang.org/x/oauth2's TokenSource and Transport: the
// client, not each caller, owns "refresh once, retry once"). Implementations must be safe
// for concurrent use.
type TokenSource interface {
	// Token returns the token to send.
	Token(ctx context.Context) (AccessToken, error)
	// Rejected reports that Coze refused tok (4100 / 700012006, catalog case 33). After a
	// first refusal (again false) it returns the token to retry with once; "" and a nil
	// error mean there is none and the refusal is returned as is. When that retry is
	// refused too (again true) no third attempt is made: a non-nil error is returned
	// wrapped around the refusal, and any token is ignored.
	Rejected(ctx context.Context, tok AccessToken, again bool) (AccessToken, error)
}

// Token makes a fixed token its own source: it is never refreshed.
func (t AccessToken) Token(context.Context) (AccessToken, error) { return t, nil }

// Rejected has no fresher token than t.
func (t AccessToken) Rejected(context.Context, AccessToken, bool) (AccessToken, error) {
	return "", nil
}

// withToken runs one request attempt with src's token; when Coze refuses the token it asks
// src for a fresh one and runs the attempt once more. It is the only place the client
// retries on a refused token: every non-stream call and every stream opening passes here,
// a stream only before it is handed out (a refusal as its first event included, coze-protocol E4).
func withToken[T any](ctx context.Context, src TokenSource, attempt func(AccessToken) (T, error)) (T, error) {
	var zero T
	if src == nil {
		return zero, ErrNoAccessToken
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return zero, err
	}
	if tok == "" {
		return zero, ErrNoAccessToken
	}
	res, err := attempt(tok)
	if !IsTokenInvalid(err) {
		return res, err
	}
	next, rerr := src.Rejected(ctx, tok, false)
	if rerr != nil {
		return zero, rerr
	}
	if next == "" {
		return zero, err
	}
	res, err = attempt(next)
	if !IsTokenInvalid(err) {
		return res, err
	}
	if _, rerr := src.Rejected(ctx, next, true); rerr != nil {
		return zero, fmt.Errorf("%w: %w", rerr, err)
	}
	return zero, err
}
