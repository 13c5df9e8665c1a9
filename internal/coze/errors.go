package coze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// Sentinel errors.
var (
	// ErrStreamCut reports an event stream whose body ended in the middle of an event: a
	// final event whose data is complete JSON is still dispatched without its blank line
	// (coze-protocol §16.1, E2), anything shorter is a cut.
	ErrStreamCut = errors.New("coze: event stream cut mid-event")
	// ErrEventTooLarge reports an SSE line or event data larger than the configured cap.
	ErrEventTooLarge = errors.New("coze: event stream line too large")
	// ErrBodyTooLarge reports a non-stream response body larger than Options.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("coze: response body too large")
	// ErrStreamTimeout reports a stream whose response headers or first byte did not
	// arrive within Options.StreamHeaderTimeout.
	ErrStreamTimeout = errors.New("coze: stream response timeout")
	// ErrNoAccessToken is returned without any network call when the token is empty.
	ErrNoAccessToken = errors.New("coze: empty access token")
)

// APIError is an OpenAPI failure: the envelope's non-zero code (coze-protocol §3.1), or, with
// Code 0 and HTTPStatus >= 400, a transport/gateway failure with a non-JSON body.
type APIError struct {
	HTTPStatus int
	Code       int
	Msg        string
	LogID      string // X-Tt-Logid header, else detail.logid
	// Permission is the OAuth permission the endpoint needs (coze-protocol §9–§17), so
	// that a 4101 can name what to add to the OAuth app; "" when none is documented.
	Permission string
}

// needs records on err's *APIError the permission of the endpoint that failed.
func needs(permission string, err error) error {
	var e *APIError
	if errors.As(err, &e) && e.Permission == "" {
		e.Permission = permission
	}
	return err
}

// Error describes the failure. It never contains the access token (see scrub).
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Code == 0 {
		fmt.Fprintf(&b, "coze: upstream failure (http %d)", e.HTTPStatus)
		if e.Msg != "" {
			fmt.Fprintf(&b, ": %s", e.Msg)
		}
	} else {
		fmt.Fprintf(&b, "coze: api error %d: %s", e.Code, e.Msg)
		if e.HTTPStatus != 0 {
			fmt.Fprintf(&b, " (http %d)", e.HTTPStatus)
		}
	}
	if e.LogID != "" {
		fmt.Fprintf(&b, " [logid %s]", e.LogID)
	}
	return b.String()
}

// OAuthError is a failure of the OAuth token endpoint: a body carrying error_code and/or
// error (coze-protocol §3.2), whatever the HTTP status.
type OAuthError struct {
	HTTPStatus int
	Code       string // error_code, else error
	Message    string // error_message, else error_description
	LogID      string
}

// Error describes the failure. Secrets sent in the request are scrubbed from Message.
func (e *OAuthError) Error() string {
	s := fmt.Sprintf("coze oauth: %s", e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (http %d)", e.HTTPStatus)
	}
	if e.LogID != "" {
		s += " [logid " + e.LogID + "]"
	}
	return s
}

func apiCode(err error) (int, int, bool) {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code, e.HTTPStatus, true
	}
	return 0, 0, false
}

// IsTokenInvalid reports an invalid or expired access token (codes 4100, 700012006).
func IsTokenInvalid(err error) bool {
	c, _, ok := apiCode(err)
	return ok && (c == 4100 || c == 700012006)
}

// IsPermissionDenied reports a token without permission for the resource (4101).
func IsPermissionDenied(err error) bool {
	c, _, ok := apiCode(err)
	return ok && c == 4101
}

// IsNotPublished reports a bot not published to the API channel (4015).
func IsNotPublished(err error) bool {
	c, _, ok := apiCode(err)
	return ok && c == 4015
}

// IsConversationBusy reports a conversation that already has a running chat (4016).
func IsConversationBusy(err error) bool {
	c, _, ok := apiCode(err)
	return ok && c == 4016
}

// IsRateLimited reports usage/QPS limits (4008, 4009, 4020) and HTTP 429.
func IsRateLimited(err error) bool {
	c, st, ok := apiCode(err)
	return ok && (c == 4008 || c == 4009 || c == 4020 || (c == 0 && st == 429))
}

// IsNotFound reports an unknown or foreign resource (4200, 4001, 4002, 4006).
func IsNotFound(err error) bool {
	c, _, ok := apiCode(err)
	return ok && (c == 4200 || c == 4001 || c == 4002 || c == 4006)
}

// IsQuotaExceeded reports an account without balance or quota (4011, 4019, 4022,
// coze-protocol §4): billing, not retry.
func IsQuotaExceeded(err error) bool {
	c, _, ok := apiCode(err)
	return ok && (c == 4011 || c == 4019 || c == 4022)
}

// IsFileTypeUnsupported reports an upload of a type Coze does not take (4303,
// coze-protocol E10).
func IsFileTypeUnsupported(err error) bool {
	c, _, ok := apiCode(err)
	return ok && c == 4303
}

// IsModelFailure reports a model that failed to answer, which a retry usually fixes:
// 4013 and 5000 (coze-protocol §4, E7; coze-js wrongly files 4013 under rate limits).
func IsModelFailure(err error) bool {
	c, _, ok := apiCode(err)
	return ok && ModelFailureCode(c)
}

// ModelFailureCode is IsModelFailure for a code read from an event stream.
func ModelFailureCode(code int) bool { return code == 4013 || code == 5000 }

// IsInvalidRequest reports a request Coze found malformed (4000); its Msg says why.
func IsInvalidRequest(err error) bool {
	c, _, ok := apiCode(err)
	return ok && c == 4000
}

// IsPlatformError reports one of Coze's 9-digit platform codes (e.g. 702042078,
// coze-java#47), whose Msg is meant for people (coze-protocol E7). 700012006, the
// invalid token, is one too: check IsTokenInvalid first.
func IsPlatformError(err error) bool {
	c, _, ok := apiCode(err)
	return ok && c >= 100_000_000 && c <= 999_999_999
}

// IsChatFinished reports a cancel of a chat that already ended (4104,
// coze-protocol §15.4).
func IsChatFinished(err error) bool {
	c, _, ok := apiCode(err)
	return ok && c == 4104
}

// IsUpstreamUnavailable reports failures of Coze or the path to it rather than of the
// request: HTTP 5xx, non-JSON bodies, connection errors, timeouts and cut streams. A
// cancellation by the caller's own context is not upstream unavailability.
func IsUpstreamUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if c, st, ok := apiCode(err); ok {
		return st >= 500 || (c == 0 && st != 429 && (st < 400 || st == 0))
	}
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oe.HTTPStatus >= 500 || oe.Code == "internal_error"
	}
	if errors.Is(err, ErrStreamCut) || errors.Is(err, ErrStreamTimeout) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op)
}

// transientOAuth are OAuth error codes that do not mean "sign in again" (§3.2, §8.1).
var transientOAuth = map[string]bool{
	"internal_error":        true,
	"authorization_pending": true,
	"slow_down":             true,
}

// IsFatalOAuth reports an OAuth error that cannot be fixed by retrying (invalid_request,
// invalid_grant, invalid_client, access_deny, unknown codes …): the user must sign in again.
// Per §19 Q3 any OAuth error code other than internal_error counts, since Coze reports a
// used or expired refresh token as invalid_request.
func IsFatalOAuth(err error) bool {
	var oe *OAuthError
	if !errors.As(err, &oe) {
		return false
	}
	return !transientOAuth[oe.Code] && oe.HTTPStatus < 500
}

// scrub removes secrets from server-provided text (Coze error messages could echo them).
func scrub(s string, secrets ...string) string {
	for _, x := range secrets {
		if len(x) >= 4 && strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, redacted)
		}
	}
	return s
}
