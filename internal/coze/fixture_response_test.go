package coze

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// responseCase answers fixture with the server and calls the method that reads it.
type responseCase struct {
	fixture    string
	call       func(ctx context.Context, c *Client) (any, error)
	want       any
	wantMethod string
	wantPath   string
}

func responseCases() []responseCase {
	tok := testToken
	return []responseCase{
		{"users_me_response.json", func(ctx context.Context, c *Client) (any, error) { return c.Me(ctx, tok) },
			User{UserID: "2478774393251234", UserName: "user4183391234", NickName: "Alan", AvatarURL: "https://p3-passport.byteacctimg.com/img/user-avatar/example~300x300.image"},
			"GET", "/v1/users/me"},
		{"workspaces_list_response.json", func(ctx context.Context, c *Client) (any, error) { return c.Workspaces(ctx, tok, 1, 20) },
			WorkspacePage{TotalCount: 2, Workspaces: []Workspace{
				{ID: "7487600442370101234", Name: "test", IconURL: "https://lf3-appstore-sign.oceancloudapi.com/obj/ocean-cloud-tos/FileBizType.BIZ_BOT_SPACE/team.png", RoleType: "member", WorkspaceType: "team", EnterpriseID: "volcano_2105850123"},
				{ID: "7487906116106511234", Name: "个人空间", IconURL: "https://lf3-appstore-sign.oceancloudapi.com/obj/ocean-cloud-tos/FileBizType.BIZ_BOT_SPACE/personal.png", RoleType: "owner", WorkspaceType: "personal"},
			}}, "GET", "/v1/workspaces"},
		{"bots_list_response.json", func(ctx context.Context, c *Client) (any, error) {
			return c.Bots(ctx, tok, BotListParams{WorkspaceID: "7487600442370101234", PublishStatus: "all"})
		}, BotPage{Total: 2, Items: []Bot{
			{ID: "7493066380997123456", Name: "语音伴侣", Description: "语音伴侣", IconURL: "https://example.com/agent1.png", FolderID: "7523161255335412345", OwnerUserID: "2342342312345", UpdatedAt: 1718289297, PublishedAt: 1718289297, IsPublished: true},
			{ID: "7516142259871234567", Name: "草稿助手", Description: "从未发布的草稿", IconURL: "https://example.com/agent2.png", OwnerUserID: "3290203712345", UpdatedAt: 1749994622},
		}}, "GET", "/v1/bots"},
		{"bot_retrieve_response_canonical.json", func(ctx context.Context, c *Client) (any, error) {
			return c.Bot(ctx, tok, "7342866812345678901", false)
		},
			BotInfo{BotID: "7342866812345678901", Name: "新闻", Description: "每天给我推送 AI 相关的新闻。", IconURL: "https://example.com/icon.png",
				Version: "1716388526123", CreateTime: 1715689059, UpdateTime: 1716388526, Prompt: "调用getToutiaoNews工具推送最新的科技新闻。",
				Onboarding: Onboarding{Prologue: "你好，我可以为你提供最新、最有趣的科技新闻。", SuggestedQuestions: []string{"你能给我推荐一些最新的科技新闻吗？", "你知道最近有哪些科技趋势吗？"}},
				ModelID:    "1706077826", ModelName: "豆包·Function call模型", FolderID: "7523161255335421234", OwnerUserID: "3685671234",
				Plugins: []PluginInfo{{ID: "7301970294808491234", Name: "头条新闻", Description: "持续更新，了解最新的头条新闻和新闻文章。", IconURL: "https://example.com/plugin_icon.png"}}},
			"GET", "/v1/bots/7342866812345678901"},
		{"bot_retrieve_response_as_documented.json", func(ctx context.Context, c *Client) (any, error) {
			return c.Bot(ctx, tok, "7515437123456789012", false)
		},
			BotInfo{BotID: "7515437123456789012", Name: "owner_1", Description: "示例智能体", IconURL: "https://example.com/FileBizType.BIZ_BOT_ICON/bot.jpeg",
				CreateTime: 1749972247, UpdateTime: 1749994397,
				Onboarding: Onboarding{Prologue: "嗨，你好！我对各种新鲜事物都很了解哦。", SuggestedQuestions: []string{"有啥新鲜好玩的地方推荐吗？", "最近有啥新奇的科技产品吗？", "哪里能体验到独特的新鲜事物？"}},
				ModelID:    "1737521234", ModelName: "ep-20250122125445-ck9wp", FolderID: "7523161255335421234", OwnerUserID: "3290203712345",
				Plugins: []PluginInfo{{ID: "7372463719123456789", Name: "头条搜索", Description: "使用头条的搜索功能来阅读或搜索URL链接，由于个别网站自身站点限制，无法获取网页内容。", IconURL: "https://example.com/ocean-cloud-tos/plugin_icon/toutiao.png"}}},
			"GET", "/v1/bots/7515437123456789012"},
		{"bot_create_response.json", func(ctx context.Context, c *Client) (any, error) {
			return c.CreateBot(ctx, tok, CreateBotRequest{SpaceID: "1", Name: "x"})
		}, "7342866812345678901", "POST", "/v1/bot/create"},
		{"bot_update_response.json", func(ctx context.Context, c *Client) (any, error) {
			return nil, c.UpdateBot(ctx, tok, UpdateBotRequest{BotID: "7342866812345678901"})
		}, nil, "POST", "/v1/bot/update"},
		{"bot_publish_response.json", func(ctx context.Context, c *Client) (any, error) {
			return c.PublishBot(ctx, tok, "7342866812345678901", nil)
		},
			"1732190531123", "POST", "/v1/bot/publish"},
		{"file_upload_response.json", func(ctx context.Context, c *Client) (any, error) {
			return c.UploadFile(ctx, tok, "1120.jpeg", strings.NewReader("jpegbytes"))
		}, File{ID: "7369495981102021234", FileName: "1120.jpeg", Bytes: 152236, CreatedAt: 1715847583}, "POST", "/v1/files/upload"},
		{"conversation_delete_response.json", func(ctx context.Context, c *Client) (any, error) {
			return nil, c.DeleteConversation(ctx, tok, "7379996104798151234")
		}, nil, "DELETE", "/v1/conversations/7379996104798151234"},
		{"chat_retrieve_response_completed.json", func(ctx context.Context, c *Client) (any, error) {
			return c.RetrieveChat(ctx, tok, "7381365856095481234", "7381371876397941234")
		}, Chat{ID: "7381371876397941234", ConversationID: "7381365856095481234", BotID: "7379462189365198898", Status: ChatCompleted, SectionID: "7381365856095481234",
			CreatedAt: 1718609571, CompletedAt: 1718609575, Usage: &Usage{TokenCount: 298, OutputCount: 56, InputCount: 242}},
			"GET", "/v3/chat/retrieve"},
		{"chat_retrieve_response_failed.json", func(ctx context.Context, c *Client) (any, error) {
			return c.RetrieveChat(ctx, tok, "7390331532575195148", "7390342853760696354")
		}, Chat{ID: "7390342853760696354", ConversationID: "7390331532575195148", BotID: "7374724495711502387", Status: ChatFailed,
			CompletedAt: 1720698285, FailedAt: 1720698286, LastError: &ChatError{Code: 5000, Msg: "event interval error"}, Usage: &Usage{}},
			"GET", "/v3/chat/retrieve"},
		{"chat_retrieve_response_requires_action.json", func(ctx context.Context, c *Client) (any, error) {
			ch, err := c.RetrieveChat(ctx, tok, "7376662320539561234", "7376662320539591234")
			return ch.ToolCalls(), err
		}, []ToolCall{{ID: "BUJJF0dAQ0NAEBVeQkVKEV5HFURFXhFCEhFeFxdHShcSQEtFSxYRSUI=", Type: "function", Name: "local_data_assistant", Arguments: `{"location":"南京","type":0}`}},
			"GET", "/v3/chat/retrieve"},
		{"chat_messages_list_response.json", func(ctx context.Context, c *Client) (any, error) {
			ms, err := c.ChatMessages(ctx, tok, "7381473525342971234", "7381473525342971234")
			var types []string
			for _, m := range ms {
				types = append(types, m.Type+":"+m.ID)
			}
			return types, err
		}, []string{"function_call:7381473945440239668", "tool_response:7381473964905807872", "verbose:7381473964905906176", "answer:7381473945440223284"},
			"GET", "/v3/chat/message/list"},
		{"chat_cancel_response.json", func(ctx context.Context, c *Client) (any, error) {
			return c.CancelChat(ctx, tok, "7397787494399123456", "7398048669188123456")
		}, Chat{ID: "7398048669188123456", ConversationID: "7397787494399123456", BotID: "7379462189365198898", CreatedAt: 1718609571, Status: ChatCanceled,
			SectionID: "7397787494399123456", MetaData: map[string]string{}, Usage: &Usage{}}, "POST", "/v3/chat/cancel"},
		{"workflow_run_response.json", func(ctx context.Context, c *Client) (any, error) {
			return c.RunWorkflow(ctx, tok, RunWorkflowRequest{WorkflowID: "7366468917055112345"})
		}, WorkflowRun{Data: `{"output":"北京的经度为116.4074°E，纬度为39.9042°N。"}`, DebugURL: "https://www.coze.cn/work_flow?execute_id=7413647890307281234&space_id=7361424235321601234&workflow_id=7389589103588701234",
			Usage: &Usage{InputCount: 50, TokenCount: 150, OutputCount: 100}}, "POST", "/v1/workflow/run"},
		{"workflow_run_async_response.json", func(ctx context.Context, c *Client) (any, error) {
			return c.RunWorkflow(ctx, tok, RunWorkflowRequest{WorkflowID: "7366468917055112345", IsAsync: true})
		}, WorkflowRun{ExecuteID: "7431040978805851234", DebugURL: "https://www.coze.cn/work_flow?execute_id=7431040978805851234&space_id=7309760604397601234&workflow_id=7429635394645391234"},
			"POST", "/v1/workflow/run"},
		{"workflows_list_response.json", func(ctx context.Context, c *Client) (any, error) {
			return c.ListWorkflows(ctx, tok, ListWorkflowsParams{WorkspaceID: "1"})
		}, WorkflowPage{HasMore: true, Items: []Workflow{{WorkflowID: "7524966123456789012", WorkflowName: "workflow_Name", Description: "Description", IconURL: "https://example.com/workflow.png",
			AppID: "0", CreatorID: "2615012345", CreatorName: "alan", CreatedAt: 1752060786, UpdatedAt: 1752060827}}}, "GET", "/v1/workflows"},
		{"workflow_info_response.json", func(ctx context.Context, c *Client) (any, error) {
			info, err := c.WorkflowInfo(ctx, tok, "7507121234591219", true)
			info.Output = nil // checked in TestWorkflowInfoOutput
			return info, err
		}, WorkflowInfo{Workflow: Workflow{WorkflowID: "7507121234591219", WorkflowName: "workflow_image", Description: "统计图片数量", IconURL: "https://example.com/ocean-cloud-tos/plugin_icon/chatflow-icon.png",
			AppID: "7493481123458294", CreatorID: "4424679212345", CreatorName: "张三", CreatedAt: 1747888248, UpdatedAt: 1747983675},
			Inputs: map[string]WorkflowParam{"CONVERSATION_NAME": {Type: "string"}, "USER_INPUT": {Type: "string"}}}, "GET", "/v1/workflows/7507121234591219"},
	}
}

func TestFixtureResponses(t *testing.T) {
	for _, tt := range responseCases() {
		t.Run(tt.fixture, func(t *testing.T) {
			f, c := fakeAnswering(t, Options{ClientSecret: testSecret}, 200, "application/json", mustFixture(t, tt.fixture))
			got, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded mismatch (-want +got):\n%s", diff)
			}
			r := f.last(t)
			if r.Method != tt.wantMethod || r.Path != tt.wantPath {
				t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, tt.wantMethod, tt.wantPath)
			}
			if got, want := r.Header.Get("Authorization"), "Bearer "+string(testToken); got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			for k, v := range r.Query {
				for _, s := range v {
					if strings.Contains(s, string(testToken)) || strings.Contains(k, "token") {
						t.Errorf("token in query %s=%s", k, s)
					}
				}
			}
		})
	}
}

func TestWorkflowInfoOutput(t *testing.T) {
	f, c := fakeAnswering(t, Options{}, 200, "application/json", mustFixture(t, "workflow_info_response.json"))
	info, err := c.WorkflowInfo(t.Context(), testToken, "7507121234591219", true)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		TerminatePlan string `json:"terminate_plan"`
		Content       string `json:"content"`
	}
	if err := json.Unmarshal(info.Output, &out); err != nil {
		t.Fatal(err)
	}
	if out.TerminatePlan != "use_answer_content" || out.Content != "数量为{{arr_obj_num}}" {
		t.Errorf("output = %+v", out)
	}
	if q := f.last(t).Query.Get("include_input_output"); q != "true" {
		t.Errorf("include_input_output = %q, want true", q)
	}
}
