package web

import (
	"net/http"
	"strings"
)

// routes registers every route with its guard, on one screen.
//
// Guards: user = signed-in session required (401 JSON otherwise);
// json = Content-Type application/json required (415 otherwise, so a
// CORS-safelisted cross-site form cannot reach the handler). The whole mux
// sits behind cross-origin protection, security headers, logging and recovery.
func (s *Server) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	user, json := s.requireUser, requireJSON

	// Page and assets.
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.Handle("GET /static/", s.static)
	// A conversation, a bot and a workflow each have an address (pages.go).
	mux.HandleFunc("GET /c/{id}", s.handlePage)
	mux.HandleFunc("GET /b/{id}", s.handlePage)
	mux.HandleFunc("GET /w/{id}", s.handlePage)

	// Sign-in (kept from the Flask demo).
	mux.HandleFunc("GET /auth", s.handleAuth)
	mux.HandleFunc("GET /callback", s.handleCallback)
	mux.HandleFunc("GET /api/auth/status", s.handleAuthStatus)
	mux.HandleFunc("POST /api/auth/logout", s.handleLogout)
	mux.HandleFunc("GET /api/auth/logout", s.handleLogoutGET) // demo compatibility; refuses cross-site navigation
	mux.Handle("POST /api/auth/logout-everywhere", user(s.handleLogoutEverywhere))

	// Workspaces and bots.
	mux.Handle("GET /api/workspaces", user(s.handleWorkspaces))
	mux.Handle("GET /api/bots", user(s.handleBots))
	mux.Handle("GET /api/bots/{id}", user(s.handleBot))
	mux.Handle("POST /api/bots", user(json(s.handleCreateBot)))               // botsedit.go
	mux.Handle("PATCH /api/bots/{id}", user(json(s.handleUpdateBot)))         // botsedit.go
	mux.Handle("GET /api/bots/{id}/draft", user(s.handleBotDraft))            // botsedit.go
	mux.Handle("POST /api/bots/{id}/publish", user(json(s.handlePublishBot))) // botsedit.go

	// Chat.
	mux.Handle("POST /api/chat", user(json(s.handleChat)))
	mux.Handle("POST /api/chat/cancel", user(json(s.handleCancel)))
	mux.Handle("GET /api/chat/{chat_id}/stream", user(s.handleResume))
	mux.Handle("POST /api/compare", user(json(s.handleCompare)))       // compare.go: side by side
	mux.Handle("GET /api/compare/stream", user(s.handleCompareStream)) // compare.go: one SSE for all columns

	// History (local, per user).
	// History reads touch only our database, so they confirm the Coze grant
	// every few minutes (grant): a revoked app ends a stolen cookie too.
	grant := s.requireGrant
	mux.Handle("GET /api/conversations", user(grant(s.handleConversations)))
	mux.Handle("GET /api/conversations/{id}/messages", user(grant(s.handleMessages)))
	mux.Handle("PATCH /api/conversations/{id}", user(json(s.handleRename)))
	mux.Handle("DELETE /api/conversations/{id}", user(s.handleDeleteConversation))
	mux.Handle("PUT /api/conversations/{id}/pin", user(json(s.handlePin)))
	mux.Handle("POST /api/conversations/{id}/restore", user(s.handleRestoreConversation))
	mux.Handle("GET /api/conversations/{id}/export", user(grant(s.handleExport)))
	mux.Handle("GET /api/comparisons", user(grant(s.handleComparisons)))     // compare.go
	mux.Handle("GET /api/comparisons/{id}", user(grant(s.handleComparison))) // compare.go
	mux.Handle("POST /api/comparisons", user(json(s.handleSaveComparison)))  // compare.go

	// Workflows.
	mux.Handle("GET /api/workflows", user(s.handleWorkflows))
	mux.Handle("GET /api/workflows/{id}", user(s.handleWorkflow))
	mux.Handle("POST /api/workflows/{id}/run", user(json(s.handleWorkflowRun)))
	mux.Handle("POST /api/workflows/{id}/resume", user(json(s.handleWorkflowResume)))
	mux.Handle("GET /api/workflows/runs/{run_id}/stream", user(s.handleWorkflowStream))
	mux.Handle("POST /api/workflows/runs/{run_id}/cancel", user(json(s.handleWorkflowCancel)))

	// Files.
	mux.Handle("POST /api/files", user(s.handleUpload))
	mux.HandleFunc("GET /api/config", s.handlePageConfig) // limits and the Coze site, for the page (pages.go)

	// Operations.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	// /metrics is not here: it is served only on COZE2APP_METRICS_ADDR, a
	// listener of its own (issue 8 item 12).

	// The simulator exists only in demo mode (catalog case 13).
	if s.d.Demo && s.d.Sim != nil {
		mux.Handle("/_sim/", http.StripPrefix("/_sim", s.d.Sim))
	}

	// Unknown /api paths answer JSON, not the page.
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// This catch-all matches every method, so ServeMux never answers 405
		// under /api/ itself: a path routed for other methods is a 405
		// (catalog case 22).
		if allow := allowedMethods(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			writeError(w, r, errMethodNotAllowed)
			return
		}
		writeError(w, r, errNotFound)
	})

	var h http.Handler = mux
	h = s.d.Auth.Middleware(h)
	h = s.methodNotAllowedJSON(mux, h)
	h = s.notFoundPage(mux, h) // unknown page paths: the page's own 404 view
	h = s.crossOrigin(h)
	h = s.checkHost(h)
	h = s.observe(mux, h)
	h = s.securityHeaders(h)
	h = s.recoverPanics(h)
	h = withRequestID(h)
	return h, nil
}

// allowedMethods lists the methods routed for r's path other than by the
// /api/ catch-all ("" when none).
func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := mux.Handler(probe); p != "" && p != "/api/" {
			allow = append(allow, m)
			if m == "GET" {
				allow = append(allow, "HEAD")
			}
		}
	}
	return strings.Join(allow, ", ")
}
