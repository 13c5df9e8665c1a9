package cozesim

import "fmt"

// User is a demo Coze account.
type User struct {
	ID        string
	UserName  string
	NickName  string
	AvatarURL string
}

// Demo user ids (19-digit strings).
const (
	UserAlan = "7391000000000000101"
	UserBea  = "7391000000000000102"
	UserChen = "7391000000000000103"
)

// Workspace ids: one personal workspace per user plus a shared team workspace
// every demo user belongs to.
const (
	WorkspaceTeam      = "7392000000000000200"
	WorkspaceAlan      = "7392000000000000101"
	WorkspaceBea       = "7392000000000000102"
	WorkspaceChen      = "7392000000000000103"
	demoEnterpriseID   = "coze2app_demo_team"
	demoFolderID       = "7393000000000000001"
	demoCreateUnixTime = 1735689600 // 2025-01-01T00:00:00Z
)

// Bots of the shared team workspace (every demo user can chat with them).
// Each personal workspace holds its own copies with other ids (see doc.go).
const (
	BotAssistant = "7394000000000000001" // markdown reply; "Coze 助手 / Assistant"
	BotMemory    = "7394000000000000002" // remembers earlier turns
	BotXSS       = "7394000000000000003" // hostile payloads
	BotSlow      = "7394000000000000004" // ~150 slow deltas
	BotDraft     = "7394000000000000005" // never published: chat => 4015
	BotThinking  = "7394000000000000006" // "Thinking demo": reasoning_content deltas, then the answer
	BotCard      = "7394000000000000007" // "Card demo": a content_type "card" answer
	BotQuestion  = "7394000000000000008" // "Question demo": a workflow question node (requires_action reply_message)
	BotMath      = "7394000000000000009" // "Math demo": inline $…$ and display $$…$$ math; has knowledge
)

// Workflows of the team workspace.
const (
	WorkflowWeather = "7395000000000000001" // inputs city (required), date (optional)
	WorkflowAsk     = "7395000000000000002" // question node: Interrupt, then stream_resume
	WorkflowJoke    = "7395000000000000003" // streams a joke in chunks; input topic (optional)
	WorkflowDraft   = "7395000000000000004" // never published: run => 4200
	WorkflowChat    = "7395000000000000005" // a chatflow: listed only (the app offers no chatflows)
)

type workspace struct {
	ID, Name, IconURL, Type, EnterpriseID, OwnerID string
	Members                                        []string // user ids; first is owner
}

func (w *workspace) role(userID string) string {
	for i, m := range w.Members {
		if m == userID {
			if i == 0 {
				return "owner"
			}
			return "member"
		}
	}
	return ""
}

// botKind decides how a bot replies (doc.go).
type botKind int

const (
	kindAssistant botKind = iota
	kindMemory
	kindXSS
	kindSlow
	kindPlain // bots created through the API: answer like the assistant
	kindThinking
	kindCard
	kindQuestion
	kindMath
)

type onboarding struct {
	Prologue           string   `json:"prologue"`
	SuggestedQuestions []string `json:"suggested_questions"`
}

type botConfig struct {
	Name, Description, IconURL, Prompt string
	Model                              string // model_info_config.model_id; "" => defaultModelID
	Onboarding                         onboarding
	UpdateTime                         int64
}

type bot struct {
	ID, SpaceID, OwnerID, FolderID string
	Kind                           botKind
	CreateTime                     int64
	Draft                          botConfig
	Published                      *botConfig // nil => never published
	PublishedAt                    int64
	Version                        string
	DraftChanged                   bool
	Connectors                     []string
}

type wfParam struct {
	Name, Type, Description, Default string
	Required                         bool
}

type workflow struct {
	ID, SpaceID, Name, Description, IconName, CreatorID, CreatorName, Mode string
	Published                                                              bool
	Inputs                                                                 []wfParam
	CreatedAt, UpdatedAt                                                   int64
}

type botSeed struct {
	suffix                   int
	kind                     botKind
	name, desc, icon, prompt string
	ob                       onboarding
	published                bool
}

var demoBots = []botSeed{
	{1, kindAssistant, "Coze 助手 / Assistant", "会用 Markdown 回答的助手：标题、列表、表格、代码和图片。 / Answers in rich Markdown: heading, list, table, code and an image.", "assistant.svg",
		"You are a helpful assistant that answers in Markdown.",
		onboarding{"你好！我是 Coze 助手，问我任何问题吧。 / Hi! I'm the Coze Assistant — ask me anything.", []string{"用 Go 写一个 Hello World", "What can you do?", "给我一张表格 / Show me a table"}}, true},
	{2, kindMemory, "记忆机器人 / Memory Bot", "记得本次对话里你说过的话。 / Remembers what you said earlier in this conversation.", "memory.svg",
		"Remember every turn of the conversation.",
		onboarding{"我会记住你在这个对话里说的每一句话。 / I remember every turn of this conversation.", []string{"我叫小明 / My name is Ming", "What did I say before?", "Which turn is this?"}}, true},
	{3, kindXSS, "XSS 实验室 / XSS Lab", "回答里全是恶意 HTML，用来测试渲染是否安全。 / Replies with hostile HTML to test safe rendering. <img src=x onerror=\"window.__pwned=1\">", "xss.svg",
		"Reply with hostile payloads.",
		onboarding{"我的回答包含恶意载荷 <script>window.__pwned=1</script> / My answers carry hostile payloads.", []string{"<img src=x onerror=\"window.__pwned=1\">", "[click](javascript:window.__pwned=1)", "all payloads"}}, true},
	{4, kindSlow, "慢讲故事 / Slow Storyteller", "慢慢地讲一个很长的故事，方便测试“停止”。 / Tells a long story slowly so you can test Stop.", "slow.svg",
		"Tell long stories, slowly.",
		onboarding{"想听故事吗？我讲得很慢。 / Want a story? I tell it slowly.", []string{"讲个故事 / Tell me a story", "A story about a dragon", "一个关于海的故事"}}, true},
	{5, kindPlain, "草稿机器人 / Draft Bot", "从未发布的草稿：默认对话会得到 4015。 / Never published: default chat answers 4015.", "draft.svg",
		"A draft.",
		onboarding{"我还是草稿。 / I am still a draft.", []string{"Are you published?"}}, false},
	{6, kindThinking, "Thinking demo", "深度思考模型：先流式输出思考过程，再给出回答。 / A deep-thinking model: streams its reasoning first, then the answer.", "thinking.svg",
		"Think step by step before answering.",
		onboarding{"我会先思考，再回答。 / I think before I answer.", []string{"为什么天空是蓝色的？ / Why is the sky blue?", "17 × 23 = ?", "Plan a weekend in Hangzhou"}}, true},
	{7, kindCard, "Card demo", "用卡片回答：标题、文字、图片、链接和按钮。 / Answers with a card: title, text, image, links and buttons.", "card.svg",
		"Answer with a card.",
		onboarding{"我的回答是一张卡片。 / My answers are cards.", []string{"给我一张卡片 / Show me a card", "Weather card for Beijing", "推荐一本书 / Recommend a book"}}, true},
	{8, kindQuestion, "Question demo", "工作流里的问答节点：先问你一个问题并给出选项，选完后继续回答。 / A workflow question node: asks you a question with options, then answers your choice.", "question.svg",
		"Run the drink-order workflow.",
		onboarding{"我会先问你一个问题。 / I will ask you a question first.", []string{"点一杯饮料 / Order a drink", "Start", "开始 / Begin"}}, true},
	{9, kindMath, "Math demo", "用 LaTeX 公式回答（行内 $…$ 和独立 $$…$$），并引用知识库。 / Answers with LaTeX math (inline $…$ and display $$…$$) and cites its knowledge base.", "math.svg",
		"Answer with formulas from the knowledge base.",
		onboarding{"问我数学问题吧，我用公式回答。 / Ask me about maths: I answer with formulas.", []string{"勾股定理是什么？ / What is the Pythagorean theorem?", "Solve x^2 - 5x + 6 = 0", "欧拉公式 / Euler's identity"}}, true},
}

// seedLocked loads the demo users, workspaces, bots and workflows.
func (s *Sim) seedLocked() {
	names := []struct{ id, user, nick, ws, wsName string }{
		{UserAlan, "alan_sim", "Alan", WorkspaceAlan, "Alan 的个人空间 / Alan's space"},
		{UserBea, "bea_sim", "Bea", WorkspaceBea, "Bea 的个人空间 / Bea's space"},
		{UserChen, "chen_sim", "Chen", WorkspaceChen, "Chen 的个人空间 / Chen's space"},
	}
	s.userByID = map[string]User{}
	team := &workspace{ID: WorkspaceTeam, Name: "coze2app 演示团队 / Demo Team", IconURL: s.assetURL("team.svg"),
		Type: "team", EnterpriseID: demoEnterpriseID, OwnerID: UserAlan}
	for i, n := range names {
		u := User{ID: n.id, UserName: n.user, NickName: n.nick, AvatarURL: s.assetURL(fmt.Sprintf("avatar-%d.svg", i+1))}
		s.users = append(s.users, u)
		s.userByID[u.ID] = u
		team.Members = append(team.Members, u.ID)
		ws := &workspace{ID: n.ws, Name: n.wsName, IconURL: s.assetURL("personal.svg"), Type: "personal", OwnerID: u.ID, Members: []string{u.ID}}
		s.workspaces = append(s.workspaces, ws)
		for _, b := range demoBots {
			s.addSeedBotLocked(fmt.Sprintf("74%s%03d", n.id[len(n.id)-3:], b.suffix)+"00000000000", ws.ID, u.ID, b)
		}
	}
	s.workspaces = append(s.workspaces, team)
	for _, b := range demoBots {
		s.addSeedBotLocked(fmt.Sprintf("7394000000000000%03d", b.suffix), WorkspaceTeam, UserAlan, b)
	}

	wfs := []*workflow{
		{ID: WorkflowWeather, Name: "weather_report", Description: "查询城市天气。 / Look up the weather of a city.", IconName: "workflow.svg", Mode: "workflow", Published: true,
			Inputs: []wfParam{{Name: "city", Type: "string", Description: "城市 / City", Required: true}, {Name: "date", Type: "string", Description: "日期 / Date (YYYY-MM-DD)", Default: "today"}}},
		{ID: WorkflowAsk, Name: "ask_weather", Description: "先问你城市和日期（问答节点）。 / Asks you for a city and date first (question node).", IconName: "workflow.svg", Mode: "workflow", Published: true},
		{ID: WorkflowJoke, Name: "tell_joke", Description: "流式输出一个笑话。 / Streams a joke.", IconName: "workflow.svg", Mode: "workflow", Published: true,
			Inputs: []wfParam{{Name: "topic", Type: "string", Description: "主题 / Topic", Default: "movies"}}},
		{ID: WorkflowChat, Name: "echo_chatflow", Description: "对话流：复述你的话。 / Chatflow: echoes what you say.", IconName: "workflow.svg", Mode: "chatflow", Published: true,
			Inputs: []wfParam{{Name: "USER_INPUT", Type: "string"}, {Name: "CONVERSATION_NAME", Type: "string", Default: "Default"}}},
		{ID: WorkflowSlow, Name: "think_slowly", Description: "第一个节点要想几秒钟才输出（期间发送 PING）。 / Its first node thinks for seconds before any output (PING meanwhile).", IconName: "workflow.svg", Mode: "workflow", Published: true},
		{ID: WorkflowDraft, Name: "draft_workflow", Description: "未发布。 / Not published.", IconName: "workflow.svg", Mode: "workflow", Published: false},
	}
	for _, wf := range wfs {
		wf.SpaceID, wf.CreatorID, wf.CreatorName = WorkspaceTeam, UserAlan, "Alan"
		wf.CreatedAt, wf.UpdatedAt = demoCreateUnixTime, demoCreateUnixTime+3600
		s.workflows[wf.ID] = wf
		s.wfOrder = append(s.wfOrder, wf.ID)
	}
	s.seedAppWorkflowLocked() // workflows.go
	if s.o.HostileMetadata {
		s.hostileLocked()
	}
}

func (s *Sim) addSeedBotLocked(id, spaceID, ownerID string, b botSeed) {
	cfg := botConfig{Name: b.name, Description: b.desc, IconURL: s.assetURL(b.icon), Prompt: b.prompt, Onboarding: b.ob, UpdateTime: demoCreateUnixTime + 600}
	bt := &bot{ID: id, SpaceID: spaceID, OwnerID: ownerID, Kind: b.kind, CreateTime: demoCreateUnixTime, Draft: cfg}
	if b.published {
		p := cfg
		bt.Published = &p
		bt.PublishedAt = demoCreateUnixTime + 900
		bt.Version = fmt.Sprintf("%d", (demoCreateUnixTime+900)*1000)
		bt.FolderID = demoFolderID
		bt.Connectors = []string{"1024"}
	}
	s.bots[id] = bt
	s.botOrder = append(s.botOrder, id)
}

// hostilePayload is the metadata payload of Options.HostileMetadata.
const hostilePayload = `<img src=x onerror="window.__pwned=1">`

func (s *Sim) hostileLocked() {
	for i, u := range s.users {
		if u.ID == UserChen {
			s.users[i].NickName = "Chen " + hostilePayload
			s.userByID[u.ID] = s.users[i]
		}
	}
	if ws := s.workspaceLocked(WorkspaceChen); ws != nil {
		ws.Name = "Chen's space <script>window.__pwned=1</script>"
	}
	for _, b := range s.bots {
		if b.Kind != kindXSS {
			continue
		}
		for _, cfg := range []*botConfig{&b.Draft, b.Published} {
			if cfg != nil {
				cfg.Name = "XSS Lab " + hostilePayload
				cfg.Description = "<svg onload=\"window.__pwned=1\"></svg> [x](javascript:window.__pwned=1)"
				cfg.IconURL = "javascript:window.__pwned=1"
			}
		}
	}
}

// Users returns the demo users.
func (s *Sim) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]User(nil), s.users...)
}

// PersonalWorkspace returns the id of the user's personal workspace.
func (s *Sim) PersonalWorkspace(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.workspaces {
		if w.Type == "personal" && w.OwnerID == userID {
			return w.ID
		}
	}
	return ""
}

func (s *Sim) workspaceLocked(id string) *workspace {
	for _, w := range s.workspaces {
		if w.ID == id {
			return w
		}
	}
	return nil
}

// botForUserLocked returns the bot if the user is a member of its workspace.
func (s *Sim) botForUserLocked(userID, botID string) *bot {
	b := s.bots[botID]
	if b == nil {
		return nil
	}
	if ws := s.workspaceLocked(b.SpaceID); ws == nil || ws.role(userID) == "" {
		return nil
	}
	return b
}
