package coze

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// A server that ignores the paging parameters answers page 1 every time;
// AllBots keeps each bot once and stops when a page brings nothing new
// (coze-protocol E3). Every page request carries page_num and page_index.
func TestAllBotsDeduplicatesAndSendsBothPageParams(t *testing.T) {
	f, c := mustFake(t, Options{})
	var items []map[string]any
	for i := range 20 {
		items = append(items, map[string]any{"id": fmt.Sprintf("73%017d", i), "name": fmt.Sprint("bot ", i), "updated_at": 1})
	}
	body, _ := json.Marshal(map[string]any{"code": 0, "msg": "", "data": map[string]any{"items": items, "total": 45}})
	f.answer(http.StatusOK, "application/json", body)

	bots, err := c.AllBots(t.Context(), AccessToken("tok"), "7392000000000000101", "all")
	if err != nil {
		t.Fatal(err)
	}
	if len(bots) != 20 {
		t.Errorf("AllBots = %d bots, want the 20 distinct ones", len(bots))
	}
	if n := f.count(); n != 2 {
		t.Errorf("requests = %d, want 2 (the second brought nothing new)", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.req {
		want := fmt.Sprint(i + 1)
		if r.Query.Get("page_num") != want || r.Query.Get("page_index") != want {
			t.Errorf("request %d: page_num=%q page_index=%q, want both %s", i, r.Query.Get("page_num"), r.Query.Get("page_index"), want)
		}
	}
}
