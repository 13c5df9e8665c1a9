package cozesim

// Who may change a bot, and what Coze refuses on create (issue 12).

// defaultModelID is the model of bots whose config names none: the model of
// the docs' create example (internal/coze/testdata/fixtures/bot_create_request.json).
const defaultModelID = "1706077826"

// mayEditLocked reports whether the user may update or publish the bot.
// Owners and admins of a workspace manage every bot in it; a member manages
// only the bots they created (Coze's team-space roles, §10 role_type; the
// exact rule is inferred: the API docs only name the permissions edit and
// publish, which a member holds for their own bots).
func (s *Sim) mayEditLocked(userID string, b *bot) bool {
	ws := s.workspaceLocked(b.SpaceID)
	if ws == nil {
		return false
	}
	switch ws.role(userID) {
	case "owner", "admin":
		return true
	case "member":
		return b.OwnerID == userID
	}
	return false
}

// errNoEditPermission is Coze's permission error for a bot the caller may see
// but not change.
func errNoEditPermission(botID string) *apiError {
	return errf(4101, "The token has no permission to edit bot_id "+botID)
}

// createModelError refuses a create without model information: Coze answers
// that no model is set (coze-dev/coze-py issue #211, "没有设置模型信息", for
// examples/bot_publish.py without model_info_config), and every SDK example
// since sends model_info_config.model_id (coze-dev/coze-go pull #21,
// examples/bots/publish/main.go).
func createModelError(b botBody) *apiError {
	if b.ModelInfoConfig == nil || b.ModelInfoConfig.ModelID == "" {
		return errf(4000, "Request parameter error: 没有设置模型信息 / model info is not set: model_info_config.model_id is required")
	}
	if !isDigitString(b.ModelInfoConfig.ModelID) {
		return errf(4000, "Request parameter error: model_info_config.model_id "+b.ModelInfoConfig.ModelID+" is not a model")
	}
	return nil
}

func isDigitString(s string) bool {
	if s == "" || len(s) > 30 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
