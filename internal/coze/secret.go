package coze

import (
	"fmt"
	"log/slog"
)

const redacted = "[REDACTED]"

// AccessToken is a Coze OAuth access token. It redacts itself in fmt, slog and JSON
// output; get the raw value with string(tok).
type AccessToken string

// RefreshToken is a Coze OAuth refresh token. It redacts itself in fmt, slog and JSON
// output; get the raw value with string(rt).
type RefreshToken string

// ClientSecret is an OAuth client secret. It redacts itself in fmt, slog and JSON output;
// get the raw value with string(s).
type ClientSecret string

// String returns "[REDACTED]".
func (AccessToken) String() string { return redacted }

// GoString returns "[REDACTED]".
func (AccessToken) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb.
func (AccessToken) Format(f fmt.State, verb rune) { formatRedacted(f, verb) }

// LogValue returns "[REDACTED]".
func (AccessToken) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns "[REDACTED]".
func (AccessToken) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// String returns "[REDACTED]".
func (RefreshToken) String() string { return redacted }

// GoString returns "[REDACTED]".
func (RefreshToken) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb.
func (RefreshToken) Format(f fmt.State, verb rune) { formatRedacted(f, verb) }

// LogValue returns "[REDACTED]".
func (RefreshToken) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns "[REDACTED]".
func (RefreshToken) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// String returns "[REDACTED]".
func (ClientSecret) String() string { return redacted }

// GoString returns "[REDACTED]".
func (ClientSecret) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb.
func (ClientSecret) Format(f fmt.State, verb rune) { formatRedacted(f, verb) }

// LogValue returns "[REDACTED]".
func (ClientSecret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns "[REDACTED]".
func (ClientSecret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

func formatRedacted(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", redacted)
		return
	}
	fmt.Fprint(f, redacted)
}
