package coze

import "regexp"

// credentialLike matches what could be a credential: Coze's token prefixes
// (czu_ user tokens, czs_ JWT tokens, pat_/sat_ personal and service
// tokens) and any long base64-like run. Coze IDs (19 digits) and log ids
// (34 characters) stay readable only where callers pass them separately.
var credentialLike = regexp.MustCompile(`(?i)\b(czu|czs|pat|sat)_[A-Za-z0-9_\-]+|[A-Za-z0-9_\-+/=]{32,}`)

// RedactCredentials replaces token-like strings in text that came from Coze
// (an error message may echo the credential it was sent) before the text is
// shown to a browser or written to a log.
func RedactCredentials(s string) string {
	return credentialLike.ReplaceAllString(s, "[redacted]")
}

// RedactCredentialsBytes is RedactCredentials for raw event data.
func RedactCredentialsBytes(b []byte) []byte {
	return credentialLike.ReplaceAll(b, []byte("[redacted]"))
}
