package cozesim

import "net/http"

// routes lists every path the simulator serves ("www" and "api" on one mux).
func (s *Sim) routes() *http.ServeMux {
	m := http.NewServeMux()
	a := s.authed
	// www: authorize and consent (§6.1, Q17)
	m.HandleFunc("GET /api/permission/oauth2/authorize", s.handleAuthorize)
	m.HandleFunc("GET /api/permission/oauth2/workspace_id/{workspace_id}/authorize", s.handleAuthorize)
	m.HandleFunc("GET /oauth/consent", s.handleConsentGet)
	m.HandleFunc("POST /oauth/consent", s.handleConsentPost)
	m.HandleFunc("GET /assets/{name}", s.handleAsset)
	m.HandleFunc("GET /work_flow", s.handleIndex)
	m.HandleFunc("GET /", s.handleIndex)
	// api: OAuth token endpoint (§6.3)
	m.HandleFunc("POST /api/permission/oauth2/token", s.handleToken)
	// account, workspaces, bots (§9–§11)
	m.HandleFunc("GET /v1/users/me", a(s.handleMe))
	m.HandleFunc("GET /v1/workspaces", a(s.handleWorkspaces))
	m.HandleFunc("GET /v1/bots", a(s.handleBotList))
	m.HandleFunc("GET /v1/bots/{bot_id}", a(s.handleBotGet))
	m.HandleFunc("POST /v1/bot/create", a(s.handleBotCreate))
	m.HandleFunc("POST /v1/bot/update", a(s.handleBotUpdate))
	m.HandleFunc("POST /v1/bot/publish", a(s.handleBotPublish))
	m.HandleFunc("POST /v1/bots/{bot_id}/unpublish", a(s.handleBotUnpublish))
	// files (§12)
	m.HandleFunc("POST /v1/files/upload", a(s.handleUpload))
	// conversations (§13)
	m.HandleFunc("DELETE /v1/conversations/{conversation_id}", a(s.handleConvDelete))
	// chat v3 (§15, §16)
	m.HandleFunc("POST /v3/chat", a(s.handleChat))
	m.HandleFunc("GET /v3/chat/retrieve", a(s.handleChatRetrieve))
	m.HandleFunc("POST /v3/chat/retrieve", a(s.handleChatRetrieve))
	m.HandleFunc("GET /v3/chat/message/list", a(s.handleChatMessages))
	m.HandleFunc("POST /v3/chat/cancel", a(s.handleChatCancel))
	// workflows (§17)
	m.HandleFunc("POST /v1/workflow/run", a(s.handleWorkflowRun))
	m.HandleFunc("POST /v1/workflow/stream_run", a(s.handleWorkflowStream))
	m.HandleFunc("POST /v1/workflow/stream_resume", a(s.handleWorkflowResume))
	m.HandleFunc("GET /v1/workflows", a(s.handleWorkflowList))
	m.HandleFunc("GET /v1/workflows/{workflow_id}", a(s.handleWorkflowInfo))
	return m
}
