package coze

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestErrorFixtures(t *testing.T) {
	type pred func(error) bool
	tests := []struct {
		fixture  string
		wantCode int
		wantLog  string
		yes      []pred
	}{
		{"error_4000_bad_request.json", 4000, "20241210152726467C48D89D6DB2F37A23", []pred{IsInvalidRequest}},
		{"error_4015_bot_not_published.json", 4015, "20241210152726467C48D89D6DB2F37A23", []pred{IsNotPublished}},
		{"error_4016_chat_in_progress.json", 4016, "20241210152726467C48D89D6DB2F37A23", []pred{IsConversationBusy}},
		{"error_4100_authentication_invalid.json", 4100, "", []pred{IsTokenInvalid}},
		{"error_4101_no_permission.json", 4101, "", []pred{IsPermissionDenied}},
		{"error_4104_cannot_cancel.json", 4104, "20241210152726467C48D89D6DB2F37A23", []pred{IsChatFinished}},
		{"error_700012006_access_token_invalid.json", 700012006, "", []pred{IsTokenInvalid, IsPlatformError}},
	}
	all := []pred{IsTokenInvalid, IsPermissionDenied, IsNotPublished, IsConversationBusy, IsRateLimited, IsNotFound, IsUpstreamUnavailable, IsFatalOAuth,
		IsQuotaExceeded, IsFileTypeUnsupported, IsModelFailure, IsInvalidRequest, IsPlatformError, IsChatFinished}
	for _, tt := range tests {
		for _, status := range []int{200, 401} {
			t.Run(fmt.Sprintf("%s/%d", tt.fixture, status), func(t *testing.T) {
				f, c := fakeAnswering(t, Options{}, status, "application/json", mustFixture(t, tt.fixture))
				_, err := c.Me(t.Context(), testToken)
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v, want *APIError", err)
				}
				if ae.Code != tt.wantCode || ae.HTTPStatus != status || ae.LogID != tt.wantLog || ae.Msg == "" {
					t.Errorf("APIError = %+v, want code %d status %d logid %q", *ae, tt.wantCode, status, tt.wantLog)
				}
				yes := 0
				for _, p := range all {
					got := p(err)
					want := false
					for _, w := range tt.yes {
						if fmt.Sprint(w) == fmt.Sprint(p) {
							want = true
						}
					}
					if got != want {
						t.Errorf("predicate %d = %v, want %v", yes, got, want)
					}
					yes++
				}
				if f.count() != 1 {
					t.Errorf("requests = %d, want 1 (no retry on business errors)", f.count())
				}
			})
		}
	}
}

func TestCodePredicates(t *testing.T) {
	tests := []struct {
		code int
		is   func(error) bool
	}{
		{4011, IsQuotaExceeded}, {4019, IsQuotaExceeded}, {4022, IsQuotaExceeded},
		{4303, IsFileTypeUnsupported}, {4013, IsModelFailure}, {5000, IsModelFailure},
		{702042078, IsPlatformError},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &APIError{Code: tt.code, Msg: "m"})
		if !tt.is(err) {
			t.Errorf("code %d: predicate false, want true", tt.code)
		}
		if tt.is(&APIError{Code: 4001, Msg: "m"}) {
			t.Errorf("code %d's predicate holds for 4001", tt.code)
		}
	}
}

func TestTransportFailures(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		ctype        string
		body         string
		call         func(ctx context.Context, c *Client) error
		wantRequests int
		wantStatus   int
		check        func(error) bool
	}{
		{"GET 502 html retried then fails", 502, "text/html", "<html>Bad Gateway</html>", meCall, 3, 502, IsUpstreamUnavailable},
		{"GET 429 retried", 429, "text/plain", "slow down", meCall, 3, 429, IsRateLimited},
		{"POST 502 not retried", 502, "text/html", "bad", func(ctx context.Context, c *Client) error {
			_, err := c.CancelChat(ctx, testToken, "1", "2")
			return err
		}, 1, 502, IsUpstreamUnavailable},
		{"200 non-JSON", 200, "text/html", "<html>", meCall, 1, 200, IsUpstreamUnavailable},
		{"404 JSON without code", 404, "application/json", `{"msg":"no route"}`, meCall, 1, 404, func(err error) bool { return !IsUpstreamUnavailable(err) }},
		{"body too large", 200, "application/json", `{"code":0,"data":{"user_id":"` + strings.Repeat("1", 200) + `"}}`, meCall, 1, 0,
			func(err error) bool { return errors.Is(err, ErrBodyTooLarge) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := fakeAnswering(t, Options{MaxBodyBytes: 128}, tt.status, tt.ctype, []byte(tt.body))
			err := tt.call(t.Context(), c)
			if err == nil || !tt.check(err) {
				t.Fatalf("err = %v: check failed", err)
			}
			var ae *APIError
			if tt.wantStatus != 0 && (!errors.As(err, &ae) || ae.HTTPStatus != tt.wantStatus || ae.Code != 0) {
				t.Errorf("err = %#v, want APIError code 0 http %d", err, tt.wantStatus)
			}
			if got := f.count(); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
		})
	}
}

func meCall(ctx context.Context, c *Client) error {
	_, err := c.Me(ctx, testToken)
	return err
}

func TestRetryRecovers(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			http.Error(w, "busy", 503)
			return
		}
		w.Header().Set("X-Tt-Logid", "LOGHEADER")
		fmt.Fprint(w, `{"code":0,"data":{"user_id":"1"},"detail":{"logid":"LOGBODY"}}`)
	}))
	defer srv.Close()
	c := New(Options{APIBase: srv.URL})
	c.backoff = func(int) time.Duration { return time.Millisecond }
	u, err := c.Me(t.Context(), testToken)
	if err != nil || u.UserID != "1" || n != 2 {
		t.Fatalf("Me = %+v, %v after %d requests", u, err, n)
	}
}

func TestErrorsNeverCarryToken(t *testing.T) {
	_, c := fakeAnswering(t, Options{}, 401, "application/json", fmt.Appendf(nil, `{"code":4100,"msg":"token %s is invalid"}`, testToken))
	_, err := c.Me(t.Context(), testToken)
	if !IsTokenInvalid(err) || strings.Contains(err.Error(), string(testToken)) {
		t.Errorf("err = %v: want 4100 without the token", err)
	}
	if _, err := c.Me(t.Context(), AccessToken("")); !errors.Is(err, ErrNoAccessToken) {
		t.Errorf("empty token err = %v", err)
	}
}

func TestTimeoutIsUpstreamUnavailable(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	c := New(Options{APIBase: srv.URL, Timeout: 50 * time.Millisecond})
	_, err := c.Me(t.Context(), testToken)
	if !IsUpstreamUnavailable(err) {
		t.Errorf("err = %v, want upstream unavailable", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Me(ctx, testToken); err == nil || IsUpstreamUnavailable(err) {
		t.Errorf("caller-cancelled err = %v, want not upstream-unavailable", err)
	}
}

func TestRedirectPolicy(t *testing.T) {
	var gotAuth string
	meHits := 0
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		fmt.Fprint(w, `{"code":0,"data":{"user_id":"evil"}}`)
	}))
	defer foreign.Close()
	own := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/p/v1/users/me":
			meHits++
			http.Redirect(w, r, foreign.URL+"/steal", http.StatusFound)
		case "/p/v1/workspaces":
			http.Redirect(w, r, "/p/v1/moved", http.StatusFound)
		case "/p/v1/moved":
			if r.Header.Get("Authorization") == "" {
				http.Error(w, "no auth", 500)
				return
			}
			fmt.Fprint(w, `{"code":0,"data":{"workspaces":[{"id":"1"}],"total_count":1}}`)
		}
	}))
	defer own.Close()
	c := New(Options{APIBase: own.URL + "/p"})
	if _, err := c.Me(t.Context(), testToken); err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Errorf("foreign redirect err = %v, want refusal (not retried)", err)
	}
	if meHits != 1 {
		t.Errorf("refused redirect was retried: %d requests", meHits)
	}
	if gotAuth != "" {
		t.Errorf("foreign host received Authorization %q", gotAuth)
	}
	p, err := c.Workspaces(t.Context(), testToken, 1, 20)
	if err != nil || len(p.Workspaces) != 1 {
		t.Errorf("same-host redirect: %+v, %v", p, err)
	}
}

func TestWWWDerivation(t *testing.T) {
	tests := []struct{ api, www, want string }{
		{APIBaseCN, "", WWWBaseCN},
		{APIBaseCOM, "", WWWBaseCOM},
		{"http://127.0.0.1:5000/_sim/", "", "http://127.0.0.1:5000/_sim"},
		{"", "", WWWBaseCN},
		{APIBaseCN, "https://www.example/", "https://www.example"},
	}
	for _, tt := range tests {
		if got := New(Options{APIBase: tt.api, WWWBase: tt.www}).WWWBase(); got != tt.want {
			t.Errorf("WWWBase(%q,%q) = %q, want %q", tt.api, tt.www, got, tt.want)
		}
	}
}

func TestDecodePaths(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode int  // APIError code; -1 = no APIError
		wantErr  bool // any error
	}{
		{"success", `{"code":0,"data":{"user_id":"1"}}`, -1, false},
		{"success without code", `{"data":{"user_id":"1"}}`, -1, false},
		{"error with data", `{"code":4000,"msg":"bad","data":{"user_id":"1"}}`, 4000, true},
		{"data of wrong shape", `{"code":0,"data":{"user_id":{}}}`, -1, true},
		{"code as string", `{"code":"4101","msg":"no"}`, 4101, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := fakeAnswering(t, Options{}, 200, "application/json", []byte(tt.body))
			u, err := c.Me(t.Context(), testToken)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var ae *APIError
			if got := -1; errors.As(err, &ae) {
				got = ae.Code
				if got != tt.wantCode {
					t.Errorf("code = %d, want %d", got, tt.wantCode)
				}
			} else if tt.wantCode != -1 {
				t.Errorf("err = %v, want APIError %d", err, tt.wantCode)
			}
			if err != nil && u != (User{}) {
				t.Errorf("partial value %+v returned with an error", u)
			}
			if err == nil && u.UserID != "1" {
				t.Errorf("user = %+v", u)
			}
		})
	}
}
