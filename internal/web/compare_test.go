package web

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

type compareCol struct {
	Tag            string
	ChatID         string `json:"chat_id"`
	ConversationID string `json:"conversation_id"`
	BotID          string `json:"bot_id"`
	Error          *struct{ Code, Message string }
}

// fanEvent is one fan-in event with its column and run-local id.
type fanEvent struct {
	vector, name, column string
	id                   int64
	data                 json.RawMessage
}

func fanEvents(t *testing.T, evs []sseEvent) []fanEvent {
	t.Helper()
	var out []fanEvent
	for _, ev := range evs {
		var d struct {
			Column string          `json:"column"`
			ID     int64           `json:"id"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil || d.Column == "" || len(d.Data) == 0 {
			t.Fatalf("fan-in event %+v: want {column,id,data}", ev)
		}
		out = append(out, fanEvent{vector: ev.id, name: ev.name, column: d.Column, id: d.ID, data: d.Data})
	}
	return out
}

func startCompare(t *testing.T, e *testEnv, c *http.Client, msg string, cols ...compareColumn) []compareCol {
	t.Helper()
	r := e.api(c, "POST", "/api/compare", map[string]any{"message": msg, "columns": cols})
	mustStatus(t, "POST /api/compare", r, http.StatusOK)
	return decode[struct{ Columns []compareCol }](t, r).Columns
}

func chatsParam(cols []compareCol) string {
	var parts []string
	for _, c := range cols {
		if c.ChatID != "" {
			parts = append(parts, c.Tag+":"+c.ChatID)
		}
	}
	return strings.Join(parts, ",")
}

// Three bots, one message: each column gets its own conversation and chat; a
// draft column fails alone with bot_not_published; the two replies come over
// one SSE response, every event tagged with its column, and each column ends
// once. A second turn continues each column's conversation.
func TestCompare_ThreeBotsTwoTurns(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserBea)
	cols := startCompare(t, e, c, "hello all",
		compareColumn{Tag: "a", BotID: cozesim.BotAssistant}, compareColumn{Tag: "b", BotID: cozesim.BotMemory}, compareColumn{Tag: "c", BotID: cozesim.BotDraft})
	if len(cols) != 3 || cols[0].ChatID == "" || cols[1].ChatID == "" || cols[0].ConversationID == cols[1].ConversationID {
		t.Fatalf("columns = %+v, want two chats in two conversations", cols)
	}
	if cols[2].Error == nil || cols[2].Error.Code != "bot_not_published" {
		t.Fatalf("draft column = %+v, want error bot_not_published", cols[2])
	}
	r := e.get(c, "/api/compare/stream?chats="+chatsParam(cols))
	mustStatus(t, "fan-in", r, http.StatusOK)
	evs := fanEvents(t, parseSSE(t, r.body))
	ends, text := map[string]string{}, map[string]string{}
	for _, ev := range evs {
		switch ev.name {
		case "end":
			var d struct{ Status string }
			_ = json.Unmarshal(ev.data, &d)
			if ends[ev.column] != "" {
				t.Errorf("column %s ended twice", ev.column)
			}
			ends[ev.column] = d.Status
		case "delta":
			var d struct{ Text string }
			_ = json.Unmarshal(ev.data, &d)
			text[ev.column] += d.Text
		}
	}
	if ends["a"] != "completed" || ends["b"] != "completed" || len(ends) != 2 || text["a"] == "" || text["b"] == "" {
		t.Fatalf("ends = %v, text lengths a=%d b=%d; want both completed with text", ends, len(text["a"]), len(text["b"]))
	}

	// Turn two: each column continues its own conversation.
	cols2 := startCompare(t, e, c, "and again",
		compareColumn{Tag: "a", BotID: cozesim.BotAssistant, ConversationID: cols[0].ConversationID},
		compareColumn{Tag: "b", BotID: cozesim.BotMemory, ConversationID: cols[1].ConversationID})
	for i, col := range cols2 {
		if col.ConversationID != cols[i].ConversationID || col.ChatID == "" || col.ChatID == cols[i].ChatID {
			t.Errorf("turn two column %s = %+v, want a new chat in conversation %s", col.Tag, col, cols[i].ConversationID)
		}
	}
	mustStatus(t, "fan-in turn two", e.get(c, "/api/compare/stream?chats="+chatsParam(cols2)), http.StatusOK)
}

// Resuming with the SSE id (the vector of every column's position) sends
// exactly the events after it; another user's chat id is not relayed.
func TestCompare_ResumeAndIsolation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserBea)
	cols := startCompare(t, e, c, "hello", compareColumn{Tag: "a", BotID: cozesim.BotAssistant}, compareColumn{Tag: "b", BotID: cozesim.BotMemory})
	path := "/api/compare/stream?chats=" + chatsParam(cols)
	first := e.get(c, path)
	mustStatus(t, "fan-in", first, http.StatusOK)
	all := fanEvents(t, parseSSE(t, first.body))
	if len(all) < 4 {
		t.Fatalf("fan-in body %s", first.body)
	}
	mid := len(all) / 2
	for all[mid].vector == "" {
		mid++
	}
	r := e.send(c, req{method: "GET", path: path, hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Last-Event-ID": all[mid].vector}})
	mustStatus(t, "resume", r, http.StatusOK)
	rest := fanEvents(t, parseSSE(t, r.body))
	// The columns interleave as their replies arrive, so the order across columns
	// may differ from the first pass; within each column it is exact.
	type colID struct {
		column string
		id     int64
	}
	perColumn := func(evs []fanEvent) map[string][]colID {
		m := map[string][]colID{}
		for _, ev := range evs {
			m[ev.column] = append(m[ev.column], colID{ev.column, ev.id})
		}
		return m
	}
	if got, want := perColumn(rest), perColumn(all[mid+1:]); !reflect.DeepEqual(got, want) {
		t.Fatalf("resumed after %q: %v, want %v", all[mid].vector, got, want)
	}
	if r := e.send(c, req{method: "GET", path: path, hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Last-Event-ID": "a:x"}}); r.status != 400 {
		t.Errorf("bad Last-Event-ID: %d, want 400", r.status)
	}

	other := signIn(t, e, cozesim.UserChen)
	evs := fanEvents(t, parseSSE(t, e.get(other, path).body))
	for _, ev := range evs {
		if ev.name != "end" || !strings.Contains(string(ev.data), "resume_unavailable") {
			t.Fatalf("another user's fan-in relayed %s %s", ev.name, ev.data)
		}
	}
	if len(evs) != 2 {
		t.Errorf("another user's fan-in: %d events, want one end per column", len(evs))
	}
}

// Stop one: cancelling one column's chat ends that column canceled while the
// other completes, on the same connection.
func TestCompare_StopOne(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserBea)
	cols := startCompare(t, e, c, "tell me a story", compareColumn{Tag: "s", BotID: cozesim.BotSlow}, compareColumn{Tag: "a", BotID: cozesim.BotAssistant})
	hr, err := http.NewRequestWithContext(t.Context(), "GET", e.url+"/api/compare/stream?chats="+chatsParam(cols), nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	first := readEvents(t, res.Body, func(ev sseEvent) bool { return ev.name == "delta" && strings.Contains(ev.data, `"column":"s"`) })
	mustStatus(t, "cancel", e.api(c, "POST", "/api/chat/cancel", map[string]any{"conversation_id": cols[0].ConversationID, "chat_id": cols[0].ChatID}), http.StatusOK)
	rest := readEvents(t, res.Body, nil)
	ends := map[string]string{}
	for _, ev := range fanEvents(t, append(first, rest...)) {
		if ev.name == "end" {
			var d struct{ Status string }
			_ = json.Unmarshal(ev.data, &d)
			ends[ev.column] = d.Status
		}
	}
	if ends["s"] != "canceled" || ends["a"] != "completed" {
		t.Errorf("ends = %v, want s canceled and a completed", ends)
	}
}

// A comparison is one history item: saved, updated in place, listed, read
// back as it was, and private to its user.
func TestCompare_SavedInHistory(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserBea)
	cols := []map[string]string{{"bot_id": cozesim.BotAssistant, "bot_name": "A", "conversation_id": "7400000000000000001"},
		{"bot_id": cozesim.BotMemory, "bot_name": "M", "conversation_id": "7400000000000000002"}}
	r := e.api(c, "POST", "/api/comparisons", map[string]any{"title": "hello", "columns": cols})
	mustStatus(t, "save", r, http.StatusOK)
	id := decode[struct{ ID string }](t, r).ID
	cols = append(cols, map[string]string{"bot_id": cozesim.BotSlow, "bot_name": "S", "conversation_id": "7400000000000000003"})
	mustStatus(t, "update", e.api(c, "POST", "/api/comparisons", map[string]any{"id": id, "title": "hello", "columns": cols}), http.StatusOK)
	list := decode[struct{ Comparisons []struct{ ID string } }](t, e.get(c, "/api/comparisons")).Comparisons
	if len(list) != 1 || list[0].ID != id {
		t.Fatalf("list = %+v, want the one comparison", list)
	}
	got := decode[struct {
		Comparison struct {
			Title   string
			Columns []map[string]string
		}
	}](t, e.get(c, "/api/comparisons/"+id)).Comparison
	if got.Title != "hello" || len(got.Columns) != 3 || got.Columns[2]["conversation_id"] != "7400000000000000003" {
		t.Errorf("comparison = %+v, want its three columns in order", got)
	}
	if r := e.api(c, "POST", "/api/comparisons", map[string]any{"title": "x", "columns": cols[:1]}); r.status != 400 {
		t.Errorf("one column: %d, want 400", r.status)
	}
	other := signIn(t, e, cozesim.UserChen)
	if r := e.get(other, "/api/comparisons/"+id); r.status != 404 {
		t.Errorf("another user's comparison: %d, want 404", r.status)
	}
	if r := e.api(other, "POST", "/api/comparisons", map[string]any{"id": id, "title": "mine", "columns": cols}); r.status != 404 {
		t.Errorf("another user overwriting it: %d, want 404", r.status)
	}
}

// Malformed comparisons are refused before any chat starts.
func TestCompare_Refusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserBea)
	col := func(tag string) compareColumn { return compareColumn{Tag: tag, BotID: cozesim.BotAssistant} }
	for name, body := range map[string]map[string]any{
		"no columns":    {"message": "x", "columns": []compareColumn{}},
		"five columns":  {"message": "x", "columns": []compareColumn{col("a"), col("b"), col("c"), col("d"), col("e")}},
		"repeated tag":  {"message": "x", "columns": []compareColumn{col("a"), col("a")}},
		"bad tag":       {"message": "x", "columns": []compareColumn{col("a,b"), col("c")}},
		"empty message": {"message": "", "columns": []compareColumn{col("a"), col("b")}},
		"bad bot id":    {"message": "x", "columns": []compareColumn{{Tag: "a", BotID: "bot"}, col("b")}},
	} {
		if r := e.api(c, "POST", "/api/compare", body); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	if n := e.sim.Calls("POST /v3/chat"); n != 0 {
		t.Errorf("Coze chats started = %d, want none", n)
	}
	for _, q := range []string{"", "a", "a:1,b", "a:1,a:2", "a:1,b:2,c:3,d:4,e:5", "a,b:1"} {
		if r := e.get(c, "/api/compare/stream?chats="+q); r.status != 400 {
			t.Errorf("chats=%q: %d, want 400", q, r.status)
		}
	}
}
