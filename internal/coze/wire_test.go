package coze

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFlexInt(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`1718592898`, 1718592898, false},
		{`"1718592898"`, 1718592898, false},
		{`""`, 0, false},
		{`null`, 0, false},
		{`1718592898.7`, 1718592898, false},
		{`"abc"`, 0, true},
		{`{}`, 0, true},
	}
	for _, tt := range tests {
		var f flexInt
		err := json.Unmarshal([]byte(tt.in), &f)
		if (err != nil) != tt.wantErr || int64(f) != tt.want {
			t.Errorf("flexInt(%s) = %d, %v; want %d, err=%v", tt.in, f, err, tt.want, tt.wantErr)
		}
	}
}

func TestWireTolerance(t *testing.T) {
	tests := []struct {
		name string
		in   string
		got  func(b []byte) (any, error)
		want any
	}{
		{"message string times and numeric id", `{"id":7381300097482521234,"created_at":"1718592898","updated_at":1718592899,"meta_data":{"n":1,"s":"x"}}`,
			func(b []byte) (any, error) { var m Message; err := json.Unmarshal(b, &m); return m, err },
			Message{ID: "7381300097482521234", CreatedAt: 1718592898, UpdatedAt: 1718592899, MetaData: map[string]string{"n": "1", "s": "x"}}},
		{"file string size, numeric id, key in another casing", `{"id":7369495981102021234,"File_Name":"a.png","bytes":"152236","created_at":1715847583}`,
			func(b []byte) (any, error) { var f File; err := json.Unmarshal(b, &f); return f, err },
			File{ID: "7369495981102021234", FileName: "a.png", Bytes: 152236, CreatedAt: 1715847583}},
		{"usage documented names", `{"token_count":3,"output_count":1,"input_count":2}`,
			func(b []byte) (any, error) { var u Usage; err := json.Unmarshal(b, &u); return u, err }, Usage{3, 1, 2}},
		{"usage placeholder names (Q11)", `{"output_tokens":"1","input_tokens":2}`,
			func(b []byte) (any, error) { var u Usage; err := json.Unmarshal(b, &u); return u, err }, Usage{3, 1, 2}},
		{"chat null last_error and required_action", `{"id":"1","status":"created","last_error":null,"required_action":null}`,
			func(b []byte) (any, error) { var c Chat; err := json.Unmarshal(b, &c); return c, err }, Chat{ID: "1", Status: "created"}},
		{"chat string code, empty last_error dropped", `{"id":1,"status":"failed","created_at":"5","last_error":{"code":"4000","msg":"bad"}}`,
			func(b []byte) (any, error) { var c Chat; err := json.Unmarshal(b, &c); return c, err },
			Chat{ID: "1", Status: "failed", CreatedAt: 5, LastError: &ChatError{Code: 4000, Msg: "bad"}}},
		{"chat zero last_error is none", `{"id":"1","last_error":{"code":0,"msg":""}}`,
			func(b []byte) (any, error) { var c Chat; err := json.Unmarshal(b, &c); return c, err }, Chat{ID: "1"}},
		{"workflow nested creator and string times", `{"workflow_id":7,"app_id":"0","creator":{"id":9,"name":"Ann"},"created_at":"3"}`,
			func(b []byte) (any, error) { var w Workflow; err := json.Unmarshal(b, &w); return w, err },
			Workflow{WorkflowID: "7", AppID: "0", CreatorID: "9", CreatorName: "Ann", CreatedAt: 3}},
		{"onboarding both casings prefer snake", `{"prologue":"a","Prologue":"b","SuggestedQuestions":["q"]}`,
			func(b []byte) (any, error) { var o Onboarding; err := json.Unmarshal(b, &o); return o, err }, Onboarding{Prologue: "a", SuggestedQuestions: []string{"q"}}},
		{"bot info round trip", `{"bot_id":"1","prompt":"p","onboarding":{"prologue":"x"},"model_name":"m","plugins":[{"id":"2"}]}`,
			func(b []byte) (any, error) { var bi BotInfo; err := json.Unmarshal(b, &bi); return bi, err },
			BotInfo{BotID: "1", Prompt: "p", Onboarding: Onboarding{Prologue: "x"}, ModelName: "m", Plugins: []PluginInfo{{ID: "2"}}}},
		{"workflow param numeric default", `{"type":"integer","default_value":5}`,
			func(b []byte) (any, error) { var p WorkflowParam; err := json.Unmarshal(b, &p); return p, err }, WorkflowParam{Type: "integer", DefaultValue: "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestObjectStringContent(t *testing.T) {
	tests := []struct {
		name    string
		items   []ContentItem
		want    string
		wantErr bool
	}{
		{"text and image", []ContentItem{{Type: "text", Text: "hi"}, {Type: "image", FileID: "1"}}, `[{"type":"text","text":"hi"},{"type":"image","file_id":"1"}]`, false},
		{"image only", []ContentItem{{Type: "image", FileURL: "https://x/y.png"}}, `[{"type":"image","file_url":"https://x/y.png"}]`, false},
		{"empty", nil, "", true},
		{"text only", []ContentItem{{Type: "text", Text: "hi"}}, "", true},
		{"two texts", []ContentItem{{Type: "text", Text: "a"}, {Type: "text", Text: "b"}, {Type: "file", FileID: "1"}}, "", true},
		{"image without source", []ContentItem{{Type: "image"}}, "", true},
		{"image with both sources", []ContentItem{{Type: "image", FileID: "1", FileURL: "u"}}, "", true},
		{"unknown type", []ContentItem{{Type: "video", FileID: "1"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ObjectStringContent(tt.items)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("= %q, %v; want %q, err=%v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// enable_card goes on the wire as a JSON boolean when set, and is left out
// otherwise, as the SDKs do (coze-go chats.go `json:"enable_card,omitempty"`;
// coze-py cozepy/chat/__init__.py drops None fields).
func TestChatRequestSendsEnableCardOnlyWhenSet(t *testing.T) {
	for _, enable := range []bool{false, true} {
		f, c := fakeAnswering(t, Options{}, 200, "text/event-stream", mustFixture(t, "chat_stream_question.sse"))
		if err := drain(c.StreamChat(t.Context(), AccessToken("tok"), ChatRequest{BotID: "7348293334459311234", UserID: "u1",
			AdditionalMessages: []EnterMessage{{Role: "user", Type: "question", Content: "hi", ContentType: "text"}},
			EnableCard:         enable})); err != nil {
			t.Fatalf("EnableCard %v: %v", enable, err)
		}
		var body map[string]any
		if err := json.Unmarshal(f.last(t).Body, &body); err != nil {
			t.Fatal(err)
		}
		got, sent := body["enable_card"]
		if sent != enable || (enable && got != true) {
			t.Errorf("EnableCard %v: body enable_card = %v (present %v)", enable, got, sent)
		}
	}
}

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

func TestRedactCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"token czu_UEE2mJn66h0fMHxLCVv9uQ7 is invalid", "token [redacted] is invalid"},
		{"bot 7379462189365198898 not published", "bot 7379462189365198898 not published"},
		{"rt LBEP9iWU7rn60PWa58GER5rr6vygb5WSACu2vASlCQu7 used", "rt [redacted] used"},
	}
	for _, tt := range tests {
		if got := RedactCredentials(tt.in); got != tt.want {
			t.Errorf("RedactCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(RedactCredentialsBytes([]byte(tt.in))); got != tt.want {
			t.Errorf("RedactCredentialsBytes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Create always sends space_id and name; update always sends bot_id; anything else unset
// is left out (coze-protocol §11.5, §11.6).
func TestBotBodiesLeaveOutUnsetMembers(t *testing.T) {
	empty := ""
	tests := []struct {
		body any
		want string
	}{
		{CreateBotRequest{SpaceID: "1", Name: "x"}.wire(), `{"space_id":"1","name":"x"}`},
		{CreateBotRequest{SpaceID: "1", Name: "x", Prompt: "p", ModelID: "m"}.wire(), `{"space_id":"1","name":"x","prompt_info":{"prompt":"p"},"model_info_config":{"model_id":"m"}}`},
		{UpdateBotRequest{BotID: "b"}.wire(), `{"bot_id":"b"}`},
		{UpdateBotRequest{BotID: "b", Description: &empty, Prompt: &empty}.wire(), `{"bot_id":"b","description":"","prompt_info":{"prompt":""}}`},
	}
	for _, tt := range tests {
		if got, err := json.Marshal(tt.body); err != nil || string(got) != tt.want {
			t.Errorf("body = %s, %v; want %s", got, err, tt.want)
		}
	}
}
