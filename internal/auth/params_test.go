package auth

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Catalog case 10 at the unit level, plus the fuzz targets for return_to and
// the OAuth callback query.

func TestSafeReturnTo(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"root", "/", "/"},
		{"path query fragment", "/chat?bot=1&q=a%20b#m", "/chat?bot=1&q=a%20b#m"},
		{"unicode path", "/对话", "/对话"},
		{"empty", "", "/"},
		{"relative", "chat", "/"},
		{"protocol relative", "//evil.example", "/"},
		{"backslash", `/\evil.example`, "/"},
		{"backslash later", `/a\b`, "/"},
		{"encoded tab", "/%09/evil.example", "/"},
		{"encoded slash", "/%2F/evil.example", "/"},
		{"encoded backslash", "/%5Cevil.example", "/"},
		{"tab", "/\t/evil.example", "/"},
		{"crlf", "/\r\nSet-Cookie: x=1", "/"},
		{"encoded crlf", "/%0d%0aSet-Cookie:x=1", "/"},
		{"https", "https://evil.example", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"data", "data:text/html,x", "/"},
		{"userinfo", "/@evil.example", "/@evil.example"},
		{"bad escape", "/%zz", "/"},
		{"invalid utf8", "/\xff", "/"},
		{"line separator", "/a\u2028b", "/"},
		{"2048 bytes", "/" + strings.Repeat("a", 2047), "/" + strings.Repeat("a", 2047)},
		{"8 KB", "/" + strings.Repeat("a", 8<<10), "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SafeReturnTo(tt.in); got != tt.want {
				t.Errorf("SafeReturnTo(%.40q) = %.40q, want %.40q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseCallback(t *testing.T) {
	t.Parallel()
	const st = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	tests := []struct {
		name, query string
		wantErr     bool
		want        callback
	}{
		{"code", "code=code_1&state=" + st, false, callback{State: st, Code: "code_1"}},
		{"error", "error=access_denied&error_description=%3Cimg%3E&state=" + st, false, callback{State: st, Error: "access_denied"}},
		{"no state", "code=x", true, callback{}},
		{"lower-case state", "state=" + strings.ToLower(st), true, callback{}},
		{"short state", "state=ABC", true, callback{}},
		{"two states", "state=" + st + "&state=" + st, true, callback{}},
		{"two codes", "state=" + st + "&code=a&code=b", true, callback{}},
		{"bad escape", "state=" + st + "&code=%zz", true, callback{}},
		{"huge code", "state=" + st + "&code=" + strings.Repeat("c", 600), true, callback{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCallback(tt.query)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{
		"/", "/chat?x=1#y", "//evil", `/\evil`, "/%09/evil", "/\t/evil", "https://evil",
		"javascript:alert(1)", "data:,x", "/%0d%0aSet-Cookie:a=b", "/\r\nLocation: //evil",
		"/" + strings.Repeat("a", 8<<10), "/%2F%2Fevil", "/%5C%5Cevil", "/\u2028", "\x00/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SafeReturnTo(s)
		if got == "/" {
			return
		}
		if got != s {
			t.Fatalf("SafeReturnTo changed %q to %q", s, got)
		}
		// Whatever survives is a same-origin path: resolved against an
		// origin it stays there, and it carries no header-breaking bytes.
		base, _ := url.Parse("https://app.example/x/y")
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("kept unparsable %q: %v", got, err)
		}
		if res := base.ResolveReference(ref); res.Host != "app.example" || res.Scheme != "https" {
			t.Fatalf("%q leaves the origin: %s", got, res)
		}
		if len(got) > maxReturnTo || !utf8.ValidString(got) || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\") {
			t.Fatalf("kept %q", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("kept control character in %q", got)
			}
		}
	})
}

func FuzzParseCallback(f *testing.F) {
	const st = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for _, s := range []string{
		"code=code_abc&state=" + st,
		"error=access_denied&error_description=%3Cimg%20src%3Dx%3E&state=" + st,
		"state=" + st + "&state=" + st,
		"state=%zz", "code=a;state=" + st, "state=" + st + "%0d%0aSet-Cookie:x",
		"state=" + strings.Repeat("A", 10<<10), "", "&&&", "state",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		c, err := parseCallback(q)
		if err != nil {
			if c != (callback{}) {
				t.Fatalf("error with a partial result %+v", c)
			}
			return
		}
		if !validState(c.State) || len(c.Code) > maxCode || len(c.Error) > 64 {
			t.Fatalf("accepted %+v from %q", c, q)
		}
	})
}
