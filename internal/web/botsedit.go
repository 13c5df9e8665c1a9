package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/coze"
)

// Bots for their builders (issue 12): create, edit and publish a bot through
// Coze's bot API (coze-protocol §11.5–§11.7), and read its draft to edit it.
//
// Trying a draft: no SDK's chat request has a draft flag (coze-dev/coze-go
// chats.go CreateChatsReq; coze-dev/coze-js packages/coze-js/src/resources/
// chat/chat.ts CreateChatReq), and Coze Studio's OpenAPI ChatV3Request has
// none either (coze-dev/coze-studio idl/conversation/run.thrift): only its
// internal playground AgentRunRequest has draft_mode, behind the web session,
// not OAuth. The publish_status of coze-protocol §15.1 is in no SDK, so the
// page does not rely on it: it says a draft must be published to be tried
// (static/js/botedit.js) instead of letting the chat fail with 4015.

// defaultBotModelID is sent when the page names no model. Coze refuses a
// create without model_info_config.model_id (coze-dev/coze-py issue #211);
// this id is the model of the docs' create example
// (internal/coze/testdata/fixtures/bot_create_request.json).
const defaultBotModelID = "1706077826"

// Limits of the editable fields, as Coze documents them (§11.5).
const (
	maxBotNameRunes        = 20
	maxBotDescriptionRunes = 500
	maxBotPromptRunes      = 20000
	maxBotPrologueRunes    = 300
	maxBotQuestions        = 10
	maxBotQuestionRunes    = 50
)

// The editor's errors; their words are the catalog's error.<Key> (and .hint).
var (
	errBotWorkspace   = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_workspace", Field: "workspace_id"}
	errBotName        = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_name", Field: "name"}
	errBotDescription = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_description", Field: "description"}
	errBotPrompt      = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_prompt", Field: "prompt"}
	errBotPrologue    = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_prologue", Field: "prologue"}
	errBotQuestions   = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_questions", Field: "suggested_questions"}
	errBotIconID      = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_icon", Field: "icon_file_id"}
	errBotModelID     = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_model", Field: "model_id"}
	errBotNoChange    = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_no_change"}
	errBotID          = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.bot_id"}
	// errBotEditDenied is Coze's permission error (4101) on update or publish.
	errBotEditDenied = &apiError{Status: 403, Code: "bot_edit_denied", Key: "bot_edit_denied"}
	// errBotModelRefused is Coze's 4000 about the model on create or update.
	errBotModelRefused = &apiError{Status: 400, Code: "bot_model_refused", Key: "bot_model_refused", Field: "model_id",
		Params: map[string]any{"model": defaultBotModelID}}
)

// botEditRequest is the body of POST /api/bots and PATCH /api/bots/{id};
// absent fields are left unchanged.
type botEditRequest struct {
	WorkspaceID        string    `json:"workspace_id"`
	Name               *string   `json:"name"`
	Description        *string   `json:"description"`
	Prompt             *string   `json:"prompt"`
	Prologue           *string   `json:"prologue"`
	SuggestedQuestions *[]string `json:"suggested_questions"`
	IconFileID         *string   `json:"icon_file_id"`
	ModelID            *string   `json:"model_id"`
}

// validate checks each present field against Coze's limits.
func (b *botEditRequest) validate() *apiError {
	runes := func(p *string, max int) bool { return p == nil || utf8.RuneCountInString(*p) <= max }
	switch {
	case b.WorkspaceID != "" && !isDigits(b.WorkspaceID, 30):
		return errBotWorkspace
	case b.Name != nil && (strings.TrimSpace(*b.Name) == "" || !runes(b.Name, maxBotNameRunes)):
		return errBotName
	case !runes(b.Description, maxBotDescriptionRunes):
		return errBotDescription
	case !runes(b.Prompt, maxBotPromptRunes):
		return errBotPrompt
	case !runes(b.Prologue, maxBotPrologueRunes):
		return errBotPrologue
	case b.IconFileID != nil && *b.IconFileID != "" && !isDigits(*b.IconFileID, 30):
		return errBotIconID
	case b.ModelID != nil && *b.ModelID != "" && !isDigits(*b.ModelID, 30):
		return errBotModelID
	}
	if b.SuggestedQuestions != nil {
		qs := *b.SuggestedQuestions
		if len(qs) > maxBotQuestions {
			return errBotQuestions
		}
		for _, q := range qs {
			if strings.TrimSpace(q) == "" || utf8.RuneCountInString(q) > maxBotQuestionRunes {
				return errBotQuestions
			}
		}
	}
	return nil
}

// onboarding merges the request's prologue and questions over the draft's.
func (b *botEditRequest) onboarding(cur coze.Onboarding) *coze.Onboarding {
	if b.Prologue == nil && b.SuggestedQuestions == nil {
		return nil
	}
	o := cur
	if b.Prologue != nil {
		o.Prologue = *b.Prologue
	}
	if b.SuggestedQuestions != nil {
		o.SuggestedQuestions = *b.SuggestedQuestions
	}
	if o.SuggestedQuestions == nil {
		o.SuggestedQuestions = []string{}
	}
	return &o
}

// allowBotWrite rate-limits bot writes per user with the chat limiter's rate
// (its own bucket).
func (s *Server) allowBotWrite(w http.ResponseWriter, r *http.Request, userID int64) bool {
	if ok, wait := s.chats.allow("bots:" + strconv.FormatInt(userID, 10)); !ok {
		writeError(w, r, tooMany("too_many_bot_changes", wait))
		return false
	}
	return true
}

// botEditError says Coze's refusals of a bot write in plain words.
func botEditError(err error) error {
	var ce *coze.APIError
	switch {
	case coze.IsPermissionDenied(err):
		return errBotEditDenied
	case coze.IsInvalidRequest(err) && errors.As(err, &ce) && strings.Contains(strings.ToLower(ce.Msg), "model"):
		return errBotModelRefused
	}
	return err
}

// handleCreateBot creates a draft bot: POST /api/bots → 201 {"bot": …}.
func (s *Server) handleCreateBot(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	var req botEditRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.WorkspaceID == "" {
		writeError(w, r, errBotWorkspace)
		return
	}
	if req.Name == nil {
		writeError(w, r, errBotName)
		return
	}
	if e := req.validate(); e != nil {
		writeError(w, r, e)
		return
	}
	if !s.allowBotWrite(w, r, u.ID) {
		return
	}
	cr := coze.CreateBotRequest{SpaceID: req.WorkspaceID, Name: strings.TrimSpace(*req.Name),
		Onboarding: req.onboarding(coze.Onboarding{}), ModelID: defaultBotModelID}
	if req.Description != nil {
		cr.Description = *req.Description
	}
	if req.Prompt != nil {
		cr.Prompt = *req.Prompt
	}
	if req.IconFileID != nil {
		cr.IconFileID = *req.IconFileID
	}
	if req.ModelID != nil && *req.ModelID != "" {
		cr.ModelID = *req.ModelID
	}
	src := s.d.Auth.Source(u.ID)
	id, err := s.d.Coze.CreateBot(r.Context(), src, cr)
	if err != nil {
		writeError(w, r, botEditError(err))
		return
	}
	s.botsChanged(u.ID, id, false)
	info, err := s.d.Coze.Bot(r.Context(), src, id, true)
	if err != nil {
		// Created all the same: answer what we sent.
		info = coze.BotInfo{BotID: id, Name: cr.Name, Description: cr.Description, Prompt: cr.Prompt, ModelID: cr.ModelID}
		if cr.Onboarding != nil {
			info.Onboarding = *cr.Onboarding
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"bot": draftJSON(info, req.WorkspaceID, false)})
}

// handleUpdateBot changes a bot's draft: PATCH /api/bots/{id} → {"bot": …}.
func (s *Server) handleUpdateBot(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, ok := botIDParam(w, r)
	if !ok {
		return
	}
	var req botEditRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if e := req.validate(); e != nil {
		writeError(w, r, e)
		return
	}
	if req.Name == nil && req.Description == nil && req.Prompt == nil && req.Prologue == nil &&
		req.SuggestedQuestions == nil && req.IconFileID == nil && req.ModelID == nil {
		writeError(w, r, errBotNoChange)
		return
	}
	if !s.allowBotWrite(w, r, u.ID) {
		return
	}
	src := s.d.Auth.Source(u.ID)
	ur := coze.UpdateBotRequest{BotID: id, Name: req.Name, Description: req.Description, Prompt: req.Prompt}
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		ur.Name = &name
	}
	if req.IconFileID != nil && *req.IconFileID != "" {
		ur.IconFileID = req.IconFileID
	}
	if req.ModelID != nil {
		ur.ModelID = *req.ModelID
	}
	if req.Prologue != nil || req.SuggestedQuestions != nil {
		// Coze replaces onboarding_info whole: keep the half not sent.
		cur, err := s.d.Coze.Bot(r.Context(), src, id, true)
		if err != nil {
			writeError(w, r, botEditError(err))
			return
		}
		ur.Onboarding = req.onboarding(cur.Onboarding)
	}
	if err := s.d.Coze.UpdateBot(r.Context(), src, ur); err != nil {
		writeError(w, r, botEditError(err))
		return
	}
	published, _ := s.bots.get(u.ID, publishedKey(id))
	s.botsChanged(u.ID, id, published == true)
	s.writeDraft(w, r, u.ID, id, http.StatusOK)
}

// handleBotDraft returns a bot's draft for the editor: GET /api/bots/{id}/draft.
func (s *Server) handleBotDraft(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, ok := botIDParam(w, r)
	if !ok {
		return
	}
	s.writeDraft(w, r, u.ID, id, http.StatusOK)
}

func (s *Server) writeDraft(w http.ResponseWriter, r *http.Request, userID int64, id string, status int) {
	info, err := s.d.Coze.Bot(r.Context(), s.d.Auth.Source(userID), id, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	published, _ := s.bots.get(userID, publishedKey(id))
	writeJSON(w, status, map[string]any{"bot": draftJSON(info, "", published == true)})
}

// handlePublishBot publishes a bot to the API channel (connector "1024"):
// POST /api/bots/{id}/publish → {"bot_id", "version", "published": true}.
func (s *Server) handlePublishBot(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, ok := botIDParam(w, r)
	if !ok {
		return
	}
	var req struct{}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if !s.allowBotWrite(w, r, u.ID) {
		return
	}
	version, err := s.d.Coze.PublishBot(r.Context(), s.d.Auth.Source(u.ID), id, nil)
	if err != nil {
		writeError(w, r, botEditError(err))
		return
	}
	s.botsChanged(u.ID, id, true)
	writeJSON(w, http.StatusOK, map[string]any{"bot_id": id, "version": version, "published": true, "connector_id": "1024"})
}

// botIDParam reads the {id} of a bot route, answering errBotID when it is not digits.
func botIDParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !isDigits(id, 30) {
		writeError(w, r, errBotID)
		return "", false
	}
	return id, true
}

// botsChanged drops the user's cached lists after a write and remembers
// whether the bot is published, so its details are read from the right view.
func (s *Server) botsChanged(userID int64, botID string, published bool) {
	s.bots.purge(userID)
	s.bots.put(userID, publishedKey(botID), published)
}

// draftJSON is a bot's editable config as the editor reads it.
func draftJSON(info coze.BotInfo, workspaceID string, published bool) map[string]any {
	questions := info.Onboarding.SuggestedQuestions
	if questions == nil {
		questions = []string{}
	}
	out := map[string]any{
		"id": info.BotID, "name": info.Name, "description": info.Description,
		"icon_url": safeImageURL(info.IconURL), "prompt": info.Prompt, "prologue": info.Onboarding.Prologue,
		"suggested_questions": questions, "model_id": info.ModelID, "model": info.ModelName,
		"updated_at": info.UpdateTime, "published": published,
	}
	if workspaceID != "" {
		out["workspace_id"] = workspaceID
	}
	return out
}
