package coze

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// requestCase calls a method built from a request fixture's values; the body sent must
// equal the fixture (same keys, JSON types and values; "_note*" keys dropped).
type requestCase struct {
	fixture string
	answer  string // response fixture; .sse answers as an event stream
	call    func(ctx context.Context, c *Client) error
}

func ptr[T any](v T) *T { return &v }

func drain(s *Stream, err error) error {
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		if _, err := s.Next(); err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}

func requestCases() []requestCase {
	tok := testToken
	return []requestCase{
		{"bot_create_request.json", "bot_create_response.json", func(ctx context.Context, c *Client) error {
			_, err := c.CreateBot(ctx, tok, CreateBotRequest{SpaceID: "7361424235321601234", Name: "每日学一菜",
				Description: "每天教你一道菜的做法，暑假之后你将成为中餐大厨～", IconFileID: "7369495981101234",
				Prompt:     "你是一位经验丰富的中餐大厨，能够熟练传授各类中餐的烹饪技巧。",
				Onboarding: &Onboarding{Prologue: "欢迎你，学徒，今天想学一道什么样的菜？", SuggestedQuestions: []string{"川菜，我想吃辣的", "广东菜，来点鲜的", "随机教我一道菜"}},
				ModelID:    "1706077826"})
			return err
		}},
		{"bot_update_request.json", "bot_update_response.json", func(ctx context.Context, c *Client) error {
			return c.UpdateBot(ctx, tok, UpdateBotRequest{BotID: "7342866812345678901", Name: ptr("每日学一菜"), Description: ptr("每天教你一道菜的做法"),
				Prompt:     ptr("你是一位经验丰富的中餐大厨。"),
				Onboarding: &Onboarding{Prologue: "今天想学什么菜？", SuggestedQuestions: []string{"川菜", "粤菜"}},
				Knowledge:  &BotKnowledge{DatasetIDs: []string{"7385093717923411234"}, AutoCall: true, SearchStrategy: 1},
				ModelID:    "1706077826"})
		}},
		{"bot_publish_request.json", "bot_publish_response.json", func(ctx context.Context, c *Client) error {
			_, err := c.PublishBot(ctx, tok, "7342866812345678901", []string{"1024"})
			return err
		}},
		{"chat_cancel_request.json", "chat_cancel_response.json", func(ctx context.Context, c *Client) error {
			_, err := c.CancelChat(ctx, tok, "7397787494399123456", "7398048669188123456")
			return err
		}},
		{"chat_create_request_text.json", "chat_stream_example.sse", func(ctx context.Context, c *Client) error {
			return drain(c.StreamChat(ctx, tok, ChatRequest{BotID: "7348293334459311234", UserID: "123456789",
				AdditionalMessages: []EnterMessage{{Role: "user", Type: "question", Content: "2024年10月1日是星期几", ContentType: "text"}}}))
		}},
		{"chat_create_request_multimodal.json", "chat_stream_multimodal_tools.sse", func(ctx context.Context, c *Client) error {
			content, err := ObjectStringContent([]ContentItem{
				{Type: "text", Text: "你好我有一个帽衫，我想问问它好看么，你帮我看看"},
				{Type: "image", FileID: "7369495981102021234"},
				{Type: "file", FileURL: "https://example.com/tos-cn-i-mdko3gqilj/example.png"},
			})
			if err != nil {
				return err
			}
			return drain(c.StreamChat(ctx, tok, ChatRequest{BotID: "7379462189365198898", UserID: "123456789", AutoSaveHistory: ptr(true),
				AdditionalMessages: []EnterMessage{{Role: "user", Type: "question", Content: content, ContentType: "object_string"}}}))
		}},
		{"workflow_run_request.json", "workflow_run_response.json", func(ctx context.Context, c *Client) error {
			_, err := c.RunWorkflow(ctx, tok, RunWorkflowRequest{WorkflowID: "7366468917055112345",
				Parameters: map[string]any{"user_name": "George", "image": `{"file_id":"1122334455"}`}})
			return err
		}},
		{"workflow_run_async_request.json", "workflow_run_async_response.json", func(ctx context.Context, c *Client) error {
			_, err := c.RunWorkflow(ctx, tok, RunWorkflowRequest{WorkflowID: "7366468917055112345", IsAsync: true,
				Parameters: map[string]any{"user_name": "George"}})
			return err
		}},
		{"workflow_stream_resume_request.json", "workflow_stream_message.sse", func(ctx context.Context, c *Client) error {
			return drain(c.ResumeWorkflow(ctx, tok, ResumeWorkflowRequest{WorkflowID: "7366468917055112345",
				EventID: "7404830425073352713/2769808280134765896", InterruptType: 2, ResumeData: "杭州，2024-08-20"}))
		}},
		{"oauth_token_request_authorization_code.json", "oauth_token_response.json", func(ctx context.Context, c *Client) error {
			_, err := c.ExchangeCode(ctx, "code_WZmPRDcjJhfwHDk3nQx7Lw2uYf9AcbTq0pR5sVdE1hGi8JoKm4Nz", "")
			return err
		}},
		{"oauth_token_request_pkce.json", "oauth_token_response.json", func(ctx context.Context, c *Client) error {
			_, err := c.ExchangeCode(ctx, "code_hS0m5XlDLSAwWjaadftNqiOGAmOW02wSDiGunZETWQuR7Kx2", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
			return err
		}},
		{"oauth_token_request_refresh.json", "oauth_token_refresh_response.json", func(ctx context.Context, c *Client) error {
			_, err := c.RefreshToken(ctx, "LBEP9iWU7rn60PWa58GER5rr6vygb5WSACu2vASlCQu7kpFkavCrNa9BBDpHLUlGd46aQ3xZ")
			return err
		}},
	}
}

func TestFixtureRequests(t *testing.T) {
	for _, tt := range requestCases() {
		t.Run(tt.fixture, func(t *testing.T) {
			f, c := mustFake(t, Options{ClientSecret: testSecret})
			ctype := "application/json"
			if len(tt.answer) > 4 && tt.answer[len(tt.answer)-4:] == ".sse" {
				ctype = "text/event-stream"
			}
			f.answer(200, ctype, mustFixture(t, tt.answer))
			if err := tt.call(t.Context(), c); err != nil {
				t.Fatalf("call: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal(f.last(t).Body, &got); err != nil {
				t.Fatalf("request body is not a JSON object: %v (%q)", err, f.last(t).Body)
			}
			want := mustFixtureMap(t, tt.fixture)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request body mismatch (-fixture +sent):\n%s", diff)
			}
			if ct := f.last(t).Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}
