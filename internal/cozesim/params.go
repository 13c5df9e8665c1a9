package cozesim

import (
	"bytes"
	"net/http"
)

// chatParameters is the "parameters" field of POST /v3/chat. Only its shape
// matters to the simulator: coze-studio refuses a JSON string there before
// binding the request (backend/api/handler/coze/agent_run_service.go,
// preprocessChatV3Parameters), so a client must always send an object
// (coze-protocol E5).
type chatParameters struct{ isString bool }

// UnmarshalJSON records whether the value is a JSON string.
func (p *chatParameters) UnmarshalJSON(b []byte) error {
	p.isString = len(bytes.TrimSpace(b)) > 0 && bytes.TrimSpace(b)[0] == '"'
	return nil
}

// failParametersString answers a string "parameters" as coze-studio does:
// its invalidParamRequestResponse, HTTP 400 with {"code":400,"msg":…}.
func failParametersString(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusBadRequest, envelope(http.StatusBadRequest,
		"parameters field should be an object, not a string", nil, logIDFrom(r.Context())))
}
