package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// apiError is an error the page can show: a status, a stable code, and the
// catalog entry that says it (error.<Key>, and error.<Key>.hint when the
// catalog has one) with its parameters. No sentence lives here: the words
// are in static/i18n/messages.json.
type apiError struct {
	Status     int
	Code       string         // stable, for programs and the page's branches
	Key        string         // catalog entry under "error."; Code when empty
	Params     map[string]any // fills the entry's {name} placeholders
	RetryAfter time.Duration  // sent as Retry-After when set (429)
	Field      string         // the request field at fault, for the page to point at
}

func (e *apiError) key() string {
	if e.Key != "" {
		return e.Key
	}
	return e.Code
}

// render says the error in lang: its message and its hint ("" if none).
func (e *apiError) render(lang string) (message, hint string) {
	id := "error." + e.key()
	hint, _ = messages.lookup(lang, id+".hint", e.Params)
	return messages.text(lang, id, e.Params), hint
}

func (e *apiError) Error() string {
	msg, _ := e.render(langEn)
	return e.Code + ": " + msg
}

// fail builds an apiError from a catalog key, "code" or "code.reason" (the
// code is the part before the dot), and name/value pairs for its params.
func fail(status int, key string, kv ...any) *apiError {
	code, _, _ := strings.Cut(key, ".")
	ae := &apiError{Status: status, Code: code, Key: key}
	for i := 0; i+1 < len(kv); i += 2 {
		if ae.Params == nil {
			ae.Params = map[string]any{}
		}
		ae.Params[kv[i].(string)] = kv[i+1]
	}
	return ae
}

// badRequest is a 400 bad_request whose words are error.bad_request.<reason>.
func badRequest(reason string, kv ...any) *apiError {
	return fail(http.StatusBadRequest, "bad_request."+reason, kv...)
}

var (
	errNotFound         = fail(404, "not_found")
	errMethodNotAllowed = fail(405, "method_not_allowed")
	errCrossOrigin      = fail(403, "cross_origin")
	errUnsupportedMedia = fail(415, "unsupported_media_type")
	errTooLarge         = fail(413, "too_large")
	// errFileTypeUnsupported answers a file outside Coze's documented list,
	// refused by us or by Coze (code 4303).
	errFileTypeUnsupported = fail(415, "unsupported_media_type.file_type")
)

// errorRule answers an error that match recognises as status and key.
type errorRule struct {
	match  func(error) bool
	status int
	key    string
}

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// firstRule applies the first rule that matches err.
func firstRule(rules []errorRule, err error) (*apiError, bool) {
	for _, rule := range rules {
		if rule.match(err) {
			return fail(rule.status, rule.key), true
		}
	}
	return nil, false
}

// knownErrors are the other packages' sentinel errors the page is told about.
var knownErrors = []errorRule{
	{is(auth.ErrUnauthenticated), 401, "unauthenticated"},
	{is(auth.ErrReauthRequired), 401, "reauth_required"},
	{is(auth.ErrRefreshUnavailable), 503, "upstream_unavailable.refresh"},
	{is(store.ErrNotFound), 404, "not_found"},
	{is(chat.ErrNotFound), 404, "not_found"},
	{is(chat.ErrShuttingDown), 503, "shutting_down"},
	{is(chat.ErrBadEventID), 400, "bad_request.event_id"},
	{is(auth.ErrTooManySignIns), 429, "too_many_sign_ins"},
	{is(auth.ErrBadWorkspace), 400, "bad_request.workspace_id"},
	{is(chat.ErrBadRequest), 400, "bad_request.invalid"},
	{is(context.DeadlineExceeded), 504, "upstream_timeout"},
	{is(context.Canceled), 503, "canceled"},
}

// cozeFailures are Coze's failures, by code, that need no detail to explain.
var cozeFailures = []errorRule{
	{coze.IsTokenInvalid, 401, "reauth_required.token_invalid"},
	{coze.IsNotPublished, 409, "bot_not_published"},
	{coze.IsConversationBusy, 409, "conversation_busy"},
	{coze.IsQuotaExceeded, 429, "quota_exceeded"},
	{coze.IsRateLimited, 429, "rate_limited"},
	{coze.IsNotFound, 404, "not_found.coze"},
	{coze.IsFileTypeUnsupported, 415, "unsupported_media_type.file_type"},
}

// toAPIError maps any error to what the page sees. Unknown errors become
// internal_error and are logged by writeError.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	var se *chat.StreamError
	if errors.As(err, &se) {
		return &apiError{Status: 502, Code: se.Code, Key: "reply_incomplete", Params: map[string]any{"msg": scrub(se.Message)}}, true
	}
	var bre *chat.BadRequestError
	if errors.As(err, &bre) {
		ae := badChatInput(bre)
		ae.Field = bre.Field
		return ae, true
	}
	var be *chat.BusyError
	if errors.As(err, &be) {
		return tooMany("too_many_replies", 10*time.Second, "n", be.Max), true
	}
	if errors.Is(err, chat.ErrTooManyReplies) {
		return tooMany("too_many_replies", 10*time.Second, "n", chat.DefaultMaxRepliesPerUser), true
	}
	if ae, ok := firstRule(knownErrors, err); ok {
		return ae, true
	}
	return cozeAPIError(err)
}

// cozeAPIError turns Coze's failures into plain words with what to do.
func cozeAPIError(err error) (*apiError, bool) {
	var ce *coze.APIError
	isAPI := errors.As(err, &ce)
	if ae, ok := firstRule(cozeFailures, err); ok {
		return ae, true
	}
	switch {
	case coze.IsPermissionDenied(err):
		if isAPI && ce.Permission != "" { // the endpoint's, known to the client
			return fail(403, "permission_denied", "permission", ce.Permission), true
		}
		return fail(403, "permission_denied.unnamed"), true
	case coze.IsModelFailure(err):
		return fail(502, "model_error", "log_id", safeLogID(ce.LogID), "coze_code", ce.Code), true
	case coze.IsPlatformError(err):
		// Coze's 9-digit platform codes (e.g. 702042078, coze-java#47) carry
		// a message meant for people; show it with the log id (coze-protocol E7).
		return fail(502, "upstream_error.platform", "msg", scrub(ce.Msg), "log_id", safeLogID(ce.LogID), "coze_code", ce.Code), true
	case coze.IsInvalidRequest(err):
		return badRequest("coze", "msg", scrub(ce.Msg)), true
	case coze.IsUpstreamUnavailable(err): // after the codes: a 5xx may carry one
		return fail(502, "upstream_unavailable"), true
	case isAPI:
		return fail(502, "upstream_error", "coze_code", ce.Code, "msg", scrub(ce.Msg), "log_id", safeLogID(ce.LogID)), true
	}
	var oe *coze.OAuthError
	if errors.As(err, &oe) {
		return fail(401, "reauth_required.oauth_refused"), true
	}
	return nil, false
}

// safeLogID passes Coze's X-Tt-Logid (34 letters and digits, coze-protocol
// §1.3) through; scrub would redact it as token-like.
func safeLogID(s string) string {
	if s == "" || len(s) > 64 || strings.IndexFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	}) >= 0 {
		return "(none)"
	}
	return s
}

func scrub(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	// A Coze message may echo the credential it was sent (catalog case 29).
	return coze.RedactCredentials(strings.ToValidUTF8(s, ""))
}

// writeError answers err as {"error":{"code","message","hint"?,"key"?,
// "params"?,"field"?}}: message and hint rendered from the catalog in the
// request's language for clients other than the page, which says it itself
// from key (or code) and params. Unknown errors are logged and answered
// internal_error.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := toAPIError(err)
	if !ok {
		ae = fail(500, "internal_error", "request_id", requestIDFrom(r.Context()))
		if l := loggerFrom(r); l != nil {
			l.ErrorContext(r.Context(), "internal error", "request_id", requestIDFrom(r.Context()), "err", err)
		}
	}
	msg, hint := ae.render(langOf(r))
	body := map[string]any{"code": ae.Code, "message": msg}
	if hint != "" {
		body["hint"] = hint
	}
	if ae.key() != ae.Code {
		body["key"] = ae.key()
	}
	if len(ae.Params) > 0 {
		body["params"] = ae.Params
	}
	if ae.Field != "" {
		body["field"] = ae.Field
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(roundUp(ae.RetryAfter)/time.Second)))
	}
	if ae.Status == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
		w.Header().Set("Allow", "GET, HEAD")
	}
	writeJSON(w, ae.Status, map[string]any{"error": body})
}

// tooMany is a 429 whose hint says when to retry ({seconds}).
func tooMany(code string, retry time.Duration, kv ...any) *apiError {
	ae := fail(http.StatusTooManyRequests, code, append(kv, "seconds", int(roundUp(retry)/time.Second))...)
	ae.RetryAfter = retry
	return ae
}

// badChatInput names what chat's validator refused (its field and code).
func badChatInput(e *chat.BadRequestError) *apiError {
	switch e.Field + "/" + e.Code {
	case "message/empty":
		return badRequest("message_empty")
	case "message/too_long":
		return badRequest("message_too_long", "max", chat.MaxMessageRunes)
	case "message/contains_nul":
		return badRequest("message_nul")
	case "message/not_utf8":
		return badRequest("message_not_utf8")
	case "file_ids/too_many_files":
		return badRequest("too_many_files", "max", chat.MaxFiles)
	case "bot_name/too_long":
		return badRequest("bot_name_too_long")
	}
	return badRequest("coze_id", "field", e.Field)
}
