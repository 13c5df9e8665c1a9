package redact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const pw = "Hunter2-s3cret"

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:" + pw + "@db:5432/app?sslmode=disable", "postgres://u:xxxxx@db:5432/app?sslmode=disable"},
		{"postgres://db/app?user=u&password=" + pw + "&sslmode=require", "postgres://db/app?user=u&password=xxxxx&sslmode=require"},
		{"postgres://db/app?PassWord=" + pw, "postgres://db/app?PassWord=xxxxx"},
		{"postgres://db/app?sslpassword=" + pw, "postgres://db/app?sslpassword=xxxxx"},
		{"postgresql://u:" + pw + "@[::1/db", "postgresql://u:xxxxx@[::1/db"},
		{"host=db user=u password=" + pw + " dbname=app", "host=db user=u password=xxxxx dbname=app"},
		{"host=db password='" + pw + " with space' dbname=app", "host=db password=xxxxx dbname=app"},
		{"postgres://u@db/app", "postgres://u@db/app"},
		{"sqlite:/var/lib/coze2app/app.db", "sqlite:/var/lib/coze2app/app.db"},
		{"coze2app.db", "coze2app.db"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(URL(tt.in), pw) {
			t.Errorf("URL(%q) keeps the password", tt.in)
		}
	}
}

func TestErrorScrubsEveryForm(t *testing.T) {
	for _, raw := range []string{
		"postgres://u:" + pw + "@db/app",
		"postgres://u:" + strings.ReplaceAll(pw, "-", "%2D") + "@db/app",
		"postgres://db/app?password=" + pw,
		"host=db password=" + pw,
	} {
		inner := fmt.Errorf("cannot parse `%s` (%s): %w", raw, pw, context.DeadlineExceeded)
		err := Error(inner, raw)
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Error(%q) = %q keeps the password", raw, err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Error(%q) lost the chain", raw)
		}
	}
	if Error(nil, "x") != nil {
		t.Error("Error(nil) != nil")
	}
}

// FuzzURL: whatever surrounds it, a password placed in the userinfo, in a
// password parameter or in a keyword string never comes out of URL or Error
// (catalog case 58 for issue 8 item 11).
func FuzzURL(f *testing.F) {
	for _, s := range []string{"db:5432/app", "[::1/db", "h/db?sslmode=disable&x=%zz", "", "@@@", "h/db#frag", "h:99999/d b"} {
		f.Add(s)
	}
	const marker = "Zq7Marker9Pw"
	f.Fuzz(func(t *testing.T, rest string) {
		if strings.Contains(rest, marker[:4]) {
			t.Skip()
		}
		for _, raw := range []string{
			"postgres://u:" + marker + "@" + rest,
			"postgres://" + rest + "?password=" + marker,
			"postgres://" + rest + "?a=1&password=" + marker + "&b=2",
			"host=" + rest + " password=" + marker,
		} {
			if got := URL(raw); strings.Contains(got, marker) {
				t.Fatalf("URL(%q) = %q keeps the password", raw, got)
			}
			if err := Error(fmt.Errorf("driver: %s", raw), raw); strings.Contains(err.Error(), marker) {
				t.Fatalf("Error(%q) = %q keeps the password", raw, err)
			}
		}
	})
}
