package app

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store/storetest"
)

// Issue 8 ("safe on the open internet") at the level of the whole process.

// waitLog waits until the app's log matches re and returns the first group.
func waitLog(t *testing.T, a *runningApp, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(a.log.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never matched %s:\n%s", re, a.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Catalog case 82 (issue 8 item 12): /metrics is served only on
// COZE2APP_METRICS_ADDR, never on the public listener; by default nowhere.
func TestCase82_MetricsOnlyOnMetricsAddr(t *testing.T) {
	t.Run("default: not served", func(t *testing.T) {
		a := mustStart(t, nil, map[string]string{"COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": storetest.SQLiteURL(t)})
		if code, body := httpGet(t, a.URL+"/metrics"); code != http.StatusNotFound || strings.Contains(body, "go_goroutines") {
			t.Errorf("public GET /metrics = %d %.100q, want 404", code, body)
		}
		if strings.Contains(a.log.String(), "metrics listening") {
			t.Errorf("a metrics listener started without COZE2APP_METRICS_ADDR:\n%s", a.log)
		}
	})
	t.Run("own address", func(t *testing.T) {
		a := mustStart(t, nil, map[string]string{"COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": storetest.SQLiteURL(t),
			"COZE2APP_METRICS_ADDR": "127.0.0.1:0"})
		murl := waitLog(t, a, regexp.MustCompile(`msg="metrics listening" url=(\S+)`))
		if strings.HasPrefix(murl, a.URL) {
			t.Fatalf("metrics URL %s is on the public listener %s", murl, a.URL)
		}
		httpGet(t, a.URL+"/api/auth/status")
		if code, body := httpGet(t, murl); code != http.StatusOK || !strings.Contains(body, "coze2app_http_requests_total") {
			t.Errorf("GET %s = %d %.200q, want the exposition", murl, code, body)
		}
		if code, _ := httpGet(t, a.URL+"/metrics"); code != http.StatusNotFound {
			t.Errorf("public GET /metrics = %d, want 404", code)
		}
	})
}
