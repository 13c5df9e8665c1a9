package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsNamesAreStable(t *testing.T) {
	m := New()
	m.ObserveHTTP("GET /api/bots", "GET", "200", 0)
	m.Refresh("ok")
	m.SignIn("ok")
	done := m.StreamOpened("new")

	want := `
# HELP coze2app_chat_streams_open Chat streams currently relayed to browsers.
# TYPE coze2app_chat_streams_open gauge
coze2app_chat_streams_open 1
# HELP coze2app_chat_streams_total Chat streams relayed to browsers, by how they started (new, resume).
# TYPE coze2app_chat_streams_total counter
coze2app_chat_streams_total{kind="new"} 1
# HELP coze2app_token_refreshes_total Coze token refreshes, by outcome (ok, fatal, transient).
# TYPE coze2app_token_refreshes_total counter
coze2app_token_refreshes_total{outcome="ok"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want),
		"coze2app_chat_streams_open", "coze2app_chat_streams_total", "coze2app_token_refreshes_total"); err != nil {
		t.Error(err)
	}
	done()
	if got := testutil.ToFloat64(m.streamsOpen); got != 0 {
		t.Errorf("open streams after done = %v, want 0", got)
	}
	if n, err := testutil.GatherAndCount(m.Registry, "go_goroutines"); err != nil || n != 1 {
		t.Errorf("go collector: count=%d err=%v, want 1 series", n, err)
	}
}
