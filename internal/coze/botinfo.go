package coze

import (
	"encoding/json"
)

// BotInfo is a bot's configuration from GET /v1/bots/{id} or /v1/bot/get_online_info
// (coze-protocol §11.4).
type BotInfo struct {
	BotID       string       `json:"bot_id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	IconURL     string       `json:"icon_url"`
	Version     string       `json:"version"`
	CreateTime  int64        `json:"create_time"`
	UpdateTime  int64        `json:"update_time"`
	BotMode     int          `json:"bot_mode"`
	Prompt      string       `json:"prompt"`
	Onboarding  Onboarding   `json:"onboarding"`
	ModelID     string       `json:"model_id,omitempty"`
	ModelName   string       `json:"model_name"`
	FolderID    string       `json:"folder_id,omitempty"`
	OwnerUserID string       `json:"owner_user_id,omitempty"`
	Plugins     []PluginInfo `json:"plugins"`
}

// PluginInfo is one plugin of a bot.
type PluginInfo struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	IconURL     string `json:"icon_url"`
}

// Onboarding is a bot's opening message and suggested questions. It marshals snake_case
// (what Coze accepts on create/update) and reads snake_case or CamelCase (§19 Q9).
type Onboarding struct {
	Prologue           string   `json:"prologue"`
	SuggestedQuestions []string `json:"suggested_questions"`
}

// UnmarshalJSON reads prologue/suggested_questions and Prologue/SuggestedQuestions.
func (o *Onboarding) UnmarshalJSON(b []byte) error {
	var w struct {
		Prologue       *string  `json:"prologue"`
		Suggested      []string `json:"suggested_questions"`
		CamelPrologue  *string  `json:"Prologue"`
		CamelSuggested []string `json:"SuggestedQuestions"`
	}
	// encoding/json matches keys case-insensitively, so decode each casing separately.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	get := func(k string, v any) error {
		if m, ok := raw[k]; ok && string(m) != "null" {
			return json.Unmarshal(m, v)
		}
		return nil
	}
	if err := get("prologue", &w.Prologue); err != nil {
		return err
	}
	if err := get("suggested_questions", &w.Suggested); err != nil {
		return err
	}
	if err := get("Prologue", &w.CamelPrologue); err != nil {
		return err
	}
	if err := get("SuggestedQuestions", &w.CamelSuggested); err != nil {
		return err
	}
	*o = Onboarding{}
	switch {
	case w.Prologue != nil:
		o.Prologue = *w.Prologue
	case w.CamelPrologue != nil:
		o.Prologue = *w.CamelPrologue
	}
	o.SuggestedQuestions = w.Suggested
	if o.SuggestedQuestions == nil {
		o.SuggestedQuestions = w.CamelSuggested
	}
	return nil
}

// UnmarshalJSON reads the Coze wire shape (prompt_info, onboarding_info, model_info,
// plugin_info_list) as well as BotInfo's own marshalled shape.
func (b *BotInfo) UnmarshalJSON(data []byte) error {
	var w struct {
		BotID       flexString `json:"bot_id"`
		Name        string     `json:"name"`
		Description string     `json:"description"`
		IconURL     string     `json:"icon_url"`
		Version     flexString `json:"version"`
		CreateTime  flexInt    `json:"create_time"`
		UpdateTime  flexInt    `json:"update_time"`
		BotMode     flexInt    `json:"bot_mode"`
		FolderID    flexString `json:"folder_id"`
		OwnerUserID flexString `json:"owner_user_id"`
		PromptInfo  *struct {
			Prompt string `json:"prompt"`
		} `json:"prompt_info"`
		Prompt         string      `json:"prompt"`
		OnboardingInfo *Onboarding `json:"onboarding_info"`
		Onboarding     *Onboarding `json:"onboarding"`
		ModelInfo      *struct {
			ModelID   flexString `json:"model_id"`
			ModelName string     `json:"model_name"`
		} `json:"model_info"`
		ModelID        flexString `json:"model_id"`
		ModelName      string     `json:"model_name"`
		PluginInfoList []struct {
			PluginID    flexString `json:"plugin_id"`
			Name        string     `json:"name"`
			Description string     `json:"description"`
			IconURL     string     `json:"icon_url"`
		} `json:"plugin_info_list"`
		Plugins []PluginInfo `json:"plugins"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = BotInfo{
		BotID: string(w.BotID), Name: w.Name, Description: w.Description, IconURL: w.IconURL,
		Version: string(w.Version), CreateTime: int64(w.CreateTime), UpdateTime: int64(w.UpdateTime),
		BotMode: int(w.BotMode), Prompt: w.Prompt, ModelID: string(w.ModelID), ModelName: w.ModelName,
		FolderID: string(w.FolderID), OwnerUserID: string(w.OwnerUserID), Plugins: w.Plugins,
	}
	if w.PromptInfo != nil {
		b.Prompt = w.PromptInfo.Prompt
	}
	if w.OnboardingInfo != nil {
		b.Onboarding = *w.OnboardingInfo
	} else if w.Onboarding != nil {
		b.Onboarding = *w.Onboarding
	}
	if w.ModelInfo != nil {
		b.ModelID, b.ModelName = string(w.ModelInfo.ModelID), w.ModelInfo.ModelName
	}
	for _, p := range w.PluginInfoList {
		b.Plugins = append(b.Plugins, PluginInfo{ID: string(p.PluginID), Name: p.Name, Description: p.Description, IconURL: p.IconURL})
	}
	return nil
}

// BotKnowledge replaces a bot's knowledge bases on update (§11.6).
type BotKnowledge struct {
	DatasetIDs     []string `json:"dataset_ids"`
	AutoCall       bool     `json:"auto_call"`
	SearchStrategy int      `json:"search_strategy"`
}

// CreateBotRequest is the body of POST /v1/bot/create (§11.5).
type CreateBotRequest struct {
	SpaceID     string
	Name        string
	Description string
	IconFileID  string
	Prompt      string
	Onboarding  *Onboarding
	ModelID     string // "" => workspace default model
}

// UpdateBotRequest is the body of POST /v1/bot/update (§11.6); nil fields are unchanged.
type UpdateBotRequest struct {
	BotID       string
	Name        *string
	Description *string
	IconFileID  *string
	Prompt      *string
	Onboarding  *Onboarding
	Knowledge   *BotKnowledge
	ModelID     string // "" => unchanged
}

type promptInfo struct {
	Prompt string `json:"prompt"`
}

type modelInfoConfig struct {
	ModelID string `json:"model_id"`
}

// botWire is the body of bot create and update (§11.5, §11.6); nil members are left out.
type botWire struct {
	SpaceID         *string          `json:"space_id,omitempty"`
	BotID           *string          `json:"bot_id,omitempty"`
	Name            *string          `json:"name,omitempty"`
	Description     *string          `json:"description,omitempty"`
	IconFileID      *string          `json:"icon_file_id,omitempty"`
	PromptInfo      *promptInfo      `json:"prompt_info,omitempty"`
	OnboardingInfo  *Onboarding      `json:"onboarding_info,omitempty"`
	Knowledge       *BotKnowledge    `json:"knowledge,omitempty"`
	ModelInfoConfig *modelInfoConfig `json:"model_info_config,omitempty"`
}

// nonEmpty is &s, or nil for "".
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// prompt wraps a set prompt as prompt_info.
func prompt(p *string) *promptInfo {
	if p == nil {
		return nil
	}
	return &promptInfo{*p}
}

// model wraps a chosen model as model_info_config; "" chooses none.
func model(id string) *modelInfoConfig {
	if id == "" {
		return nil
	}
	return &modelInfoConfig{id}
}

func (r CreateBotRequest) wire() any {
	return botWire{SpaceID: &r.SpaceID, Name: &r.Name, Description: nonEmpty(r.Description), IconFileID: nonEmpty(r.IconFileID),
		PromptInfo: prompt(nonEmpty(r.Prompt)), OnboardingInfo: r.Onboarding, ModelInfoConfig: model(r.ModelID)}
}

func (r UpdateBotRequest) wire() any {
	return botWire{BotID: &r.BotID, Name: r.Name, Description: r.Description, IconFileID: r.IconFileID,
		PromptInfo: prompt(r.Prompt), OnboardingInfo: r.Onboarding, Knowledge: r.Knowledge, ModelInfoConfig: model(r.ModelID)}
}
