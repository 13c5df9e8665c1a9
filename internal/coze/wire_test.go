package coze

import (
	"encoding/json"
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
		{"usage documented names", `{"token_count":3,"output_count":1,"input_count":2}`,
			func(b []byte) (any, error) { var u Usage; err := json.Unmarshal(b, &u); return u, err }, Usage{3, 1, 2}},
		{"usage placeholder names (Q11)", `{"output_tokens":"1","input_tokens":2}`,
			func(b []byte) (any, error) { var u Usage; err := json.Unmarshal(b, &u); return u, err }, Usage{3, 1, 2}},
		{"chat null last_error and required_action", `{"id":"1","status":"created","last_error":null,"required_action":null}`,
			func(b []byte) (any, error) { var c Chat; err := json.Unmarshal(b, &c); return c, err }, Chat{ID: "1", Status: "created"}},
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
