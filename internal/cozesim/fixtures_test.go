package cozesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const fixtureDir = "../coze/testdata/fixtures" // the captures the client is tested against

// mustFixture loads a JSON fixture without its _note* keys.
func mustFixture(tb testing.TB, name string) any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		tb.Skipf("fixture %s not available: %v", name, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("fixture %s: %v", name, err)
	}
	return dropNotes(v)
}

func dropNotes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if strings.HasPrefix(k, "_note") {
				delete(x, k)
			} else {
				x[k] = dropNotes(val)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropNotes(x[i])
		}
	}
	return v
}

// dynamicKeys are objects whose keys are data (names), not schema.
var dynamicKeys = map[string]bool{"meta_data": true, "parameters": true, "custom_variables": true}

// structDiff compares got with want structurally: same keys at every level
// and the same JSON types; values may differ. An array element must match
// some element of the fixture's array. At the top level, got may carry
// "detail" even where the fixture has none (coze-protocol §18.10).
func structDiff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, isMap := got.(map[string]any)
		if !isMap {
			return []string{fmt.Sprintf("%s: got %T, want object", path, got)}
		}
		if dynamicKeys[lastSeg(path)] {
			var diffs []string
			for k, gv := range g {
				if len(w) == 0 {
					break
				}
				if !matchesAny(path+"."+k, mapValues(w), gv) {
					diffs = append(diffs, fmt.Sprintf("%s.%s: matches no fixture value", path, k))
				}
			}
			return diffs
		}
		var diffs []string
		for k := range w {
			if _, has := g[k]; !has {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing", path, k))
			}
		}
		for k := range g {
			if _, has := w[k]; !has && !(path == "" && k == "detail") {
				diffs = append(diffs, fmt.Sprintf("%s.%s: unexpected", path, k))
			}
		}
		for k, wv := range w {
			if gv, has := g[k]; has {
				diffs = append(diffs, structDiff(path+"."+k, wv, gv)...)
			}
		}
		sort.Strings(diffs)
		return diffs
	case []any:
		g, isArr := got.([]any)
		if !isArr {
			return []string{fmt.Sprintf("%s: got %T, want array", path, got)}
		}
		var diffs []string
		if len(w) > 0 && len(g) == 0 {
			diffs = append(diffs, path+": empty array, fixture has elements")
		}
		for i, gv := range g {
			if len(w) > 0 && !matchesAny(fmt.Sprintf("%s[%d]", path, i), w, gv) {
				diffs = append(diffs, fmt.Sprintf("%s[%d]: matches no fixture element: %s", path, i, structDiff(path, w[0], gv)))
			}
		}
		return diffs
	case nil:
		return nil
	default:
		if kind(want) != kind(got) {
			return []string{fmt.Sprintf("%s: got %s, want %s", path, kind(got), kind(want))}
		}
		return nil
	}
}

func matchesAny(path string, wants []any, got any) bool {
	for _, w := range wants {
		if len(structDiff(path, w, got)) == 0 {
			return true
		}
	}
	return false
}

func mapValues(m map[string]any) []any {
	var out []any
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func lastSeg(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// checkFixture compares a response body with a fixture.
func checkFixture(tb testing.TB, fixture string, body []byte) {
	tb.Helper()
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		tb.Fatalf("%s: body is not JSON: %s", fixture, body)
	}
	if diffs := structDiff("", mustFixture(tb, fixture), got); len(diffs) > 0 {
		tb.Errorf("%s: structural differences:\n  %s\nbody: %s", fixture, strings.Join(diffs, "\n  "), body)
	}
}

// checkSSEFixture compares a stream with an .sse fixture: same framing, same
// collapsed event-name sequence, and each event's data matching some fixture
// event of that name (only for names in keysOf, all when nil).
func checkSSEFixture(tb testing.TB, fixture string, body []byte, keysOf []string) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, fixture))
	if err != nil {
		tb.Skipf("fixture %s: %v", fixture, err)
	}
	// Recorded streams may end without the final blank line (coze-protocol E2).
	raw = append(bytes.TrimRight(raw, "\n"), "\n\n"...)
	workflow := strings.HasPrefix(fixture, "workflow_")
	spaced := strings.HasPrefix(fixture, "chatflow_")
	want := readSSEMode(tb, raw, workflow, spaced)
	got := readSSEMode(tb, body, workflow, spaced)
	if w, g := strings.Join(collapse(names(want)), ","), strings.Join(collapse(names(got)), ","); w != g {
		tb.Errorf("%s: event pattern\n got %s\nwant %s", fixture, g, w)
	}
	byName := map[string][]any{}
	for _, ev := range want {
		var v any
		_ = json.Unmarshal([]byte(ev.Data), &v)
		byName[ev.Name] = append(byName[ev.Name], v)
	}
	check := map[string]bool{}
	for _, n := range keysOf {
		check[n] = true
	}
	for i, ev := range got {
		if workflow && ev.ID != fmt.Sprint(i) {
			tb.Errorf("%s: event %d has id %q", fixture, i, ev.ID)
		}
		if keysOf != nil && !check[ev.Name] {
			continue
		}
		var v any
		_ = json.Unmarshal([]byte(ev.Data), &v)
		if strings.Contains(ev.Data, "\n") {
			tb.Errorf("data has a newline")
		}
		if ws := byName[ev.Name]; len(ws) > 0 && !matchesAny(ev.Name, ws, v) {
			tb.Errorf("%s: event %s data %s matches no fixture event: %v", fixture, ev.Name, ev.Data, structDiff(ev.Name, ws[0], v))
		}
	}
}

func TestStructDiff(t *testing.T) {
	tests := []struct {
		name      string
		want, got string
		wantDiffs int
	}{
		{"same", `{"a":1,"b":{"c":"x"}}`, `{"a":2,"b":{"c":"y"}}`, 0},
		{"missing", `{"a":1,"b":2}`, `{"a":1}`, 1},
		{"extra", `{"a":1}`, `{"a":1,"b":2}`, 1},
		{"type", `{"a":1}`, `{"a":"1"}`, 1},
		{"detail allowed", `{"a":1}`, `{"a":1,"detail":{"logid":"x"}}`, 0},
		{"array any", `{"a":[{"x":1},{"x":1,"y":2}]}`, `{"a":[{"x":1,"y":3},{"x":5}]}`, 0},
		{"array bad", `{"a":[{"x":1}]}`, `{"a":[{"z":1}]}`, 1},
		{"meta keys", `{"meta_data":{"k":"v"}}`, `{"meta_data":{"other":"v"}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w, g any
			_ = json.Unmarshal([]byte(tt.want), &w)
			_ = json.Unmarshal([]byte(tt.got), &g)
			if d := structDiff("", w, g); len(d) != tt.wantDiffs {
				t.Errorf("diffs = %v, want %d", d, tt.wantDiffs)
			}
		})
	}
}
