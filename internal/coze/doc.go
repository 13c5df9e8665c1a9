// Package coze is coze2app's own client for the Coze OpenAPI (coze.cn and coze.com).
//
// It covers exactly what the app's features call (see docs/coze-protocol.md): the
// OAuth authorization-code flow with optional PKCE, the current user, workspaces, bots
// (list, retrieve, and create/update/publish for bot management), deleting a
// conversation, streamed chat v3 with retrieve, messages and cancel, file upload and
// workflows (list, info, run, stream, resume). Fixtures of endpoints it does not call
// are listed with the reason in fixture_coverage_test.go.
//
// Design rules:
//   - Standard library only. Every call takes a context; non-stream calls get a per-call
//     timeout and a bounded body read; streams never use http.Client.Timeout.
//   - Success is decided from the body, never from the HTTP status (coze-protocol §2, §3).
//     OpenAPI failures are *APIError, OAuth failures are *OAuthError; use the Is* helpers.
//   - IDs are strings; timestamps are int64 Unix seconds and are accepted on the wire as
//     numbers or numeric strings (§19 Q10).
//   - Every call takes a TokenSource, not a token: a refused token (4100 / 700012006) is
//     replaced through it and the call retried once, in one place (tokensource.go), for
//     plain calls, uploads and stream openings alike. A fixed AccessToken is its own source.
//   - *APIError carries the OAuth permission its endpoint needs, so a 4101 can name it.
//   - Tokens travel only in the Authorization header, the client secret only to the token
//     endpoint; secret types redact themselves when printed, logged or marshalled.
//   - EventReader is a bounded, allocation-light SSE parser that keeps each event's data
//     bytes exactly as received, so a relay can forward them unchanged.
package coze
