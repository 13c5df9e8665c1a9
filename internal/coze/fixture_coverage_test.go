package coze

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// unchecked names the fixtures of endpoints and modes no feature of the app uses,
// with the reason. They stay in testdata as a record of Coze's wire format; the
// client gains a method for one only when a feature needs it, and then its
// fixtures leave this list and get a test.
var unchecked = map[string]string{
	"oauth_device_code_*":                   "device flow: a web app signs in with the authorization code flow",
	"oauth_device_token_request.json":       "device flow: a web app signs in with the authorization code flow",
	"bots_published_list_response.json":     "old published-bots list: the app lists bots with GET /v1/bots",
	"file_retrieve_response.json":           "the app never reads a file's metadata back after uploading it",
	"conversation_create_*":                 "conversations are created by the first chat",
	"conversation_retrieve_response.json":   "the app keeps its own conversation list (store)",
	"conversations_list_response.json":      "the app keeps its own conversation list (store)",
	"conversation_update_*":                 "titles are the app's own (store)",
	"conversation_clear_response.json":      "the app starts a new conversation instead of a new section",
	"message_*":                             "history is the app's own (store); Coze's answer is read per chat",
	"messages_list_*":                       "history is the app's own (store); Coze's answer is read per chat",
	"chat_create_request_with_context.json": "non-streamed chat: the app always streams",
	"chat_create_response.json":             "non-streamed chat: the app always streams",
	"chat_submit_tool_outputs_request.json": "no local plugins: a requires_action ends the reply",
	"chat_workflows_chat_request.json":      "chatflows are not offered",
	"chatflow_stream_example.sse":           "chatflows are not offered",
	"workflow_run_history_response.json":    "workflows stream; no async run is polled",
	"README.md":                             "documentation",
}

// TestFixturesOfUsedEndpointsAreChecked: every fixture is named by a test, or
// listed in unchecked with a reason; a listed fixture is named by no test and
// every entry of the list still matches a fixture, so the list stays true.
func TestFixturesOfUsedEndpointsAreChecked(t *testing.T) {
	src, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var tests strings.Builder
	for _, p := range src {
		if p == "fixture_coverage_test.go" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tests.Write(b)
	}
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	matched := map[string]bool{}
	var missing, stale []string
	for _, e := range entries {
		name := e.Name()
		named := strings.Contains(tests.String(), `"`+name+`"`)
		listed := ""
		for pattern := range unchecked {
			if ok, _ := filepath.Match(pattern, name); ok {
				listed, matched[pattern] = pattern, true
			}
		}
		switch {
		case listed == "" && !named:
			missing = append(missing, name)
		case listed != "" && named:
			stale = append(stale, name+" (listed as "+listed+")")
		}
	}
	for pattern := range unchecked {
		if !matched[pattern] {
			stale = append(stale, pattern+" (matches no fixture)")
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("fixtures neither read by a test nor listed in unchecked: %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("unchecked entries that are stale: %v", stale)
	}
}
