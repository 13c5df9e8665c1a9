package coze

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// notUsed are fixtures of flows the app does not implement (device code flow, §8.1).
var notUsed = map[string]string{
	"oauth_device_code_request.json":  "device flow not used by a web app",
	"oauth_device_code_response.json": "device flow not used by a web app",
	"oauth_device_token_request.json": "device flow not used by a web app",
	"README.md":                       "documentation",
}

// TestEveryFixtureIsChecked fails when a fixture is added without a test reading it.
func TestEveryFixtureIsChecked(t *testing.T) {
	covered := map[string]bool{
		"oauth_authorize_urls.json": true, "oauth_token_response.json": true, "oauth_jwt_token_response.json": true,
		"oauth_error_documented.json": true, "oauth_error_invalid_client.json": true, "oauth_error_superset.json": true,
		"oauth_device_poll_pending.json": true, "oauth_device_poll_slow_down.json": true,
	}
	for _, c := range responseCases() {
		covered[c.fixture] = true
	}
	for _, c := range requestCases() {
		covered[c.fixture], covered[c.answer] = true, true
	}
	for _, c := range sseCases {
		covered[c.fixture] = true
	}
	src, _ := filepath.Glob("*_test.go")
	var all strings.Builder
	for _, p := range src {
		b, _ := os.ReadFile(p)
		all.Write(b)
	}
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, e := range entries {
		name := e.Name()
		if covered[name] || notUsed[name] != "" {
			continue
		}
		if strings.HasPrefix(name, "error_") && strings.Contains(all.String(), `"`+name+`"`) {
			continue
		}
		missing = append(missing, name)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("fixtures without a test: %v", missing)
	}
}
