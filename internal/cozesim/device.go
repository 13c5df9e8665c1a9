package cozesim

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"
)

// deviceGrant is one device-code authorization (coze-protocol §8.1).
type deviceGrant struct {
	ClientID, UserCode, WorkspaceID string
	UserID                          string // set on approval
	Denied, Used                    bool
	Expires, LastPoll               time.Time
}

const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// POST /api/permission/oauth2/device/code: flat answer; expires_in is
// relative seconds here.
func (s *Sim) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	var b struct {
		ClientID string `json:"client_id"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(raw, &b); err != nil {
		writeOAuthError(w, "invalid_request", "invalid request: body must be JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.apps[b.ClientID]; !known {
		writeOAuthError(w, "invalid_client", "/")
		return
	}
	uc := strings.ToUpper(randomString(4) + "-" + randomString(4))
	dc := randomString(40)
	if s.devices == nil {
		s.devices = map[string]*deviceGrant{}
	}
	s.devices[dc] = &deviceGrant{ClientID: b.ClientID, UserCode: uc, WorkspaceID: r.PathValue("workspace_id"), Expires: s.now().Add(5 * time.Minute)}
	writeJSON(w, http.StatusOK, ordered{{"device_code", dc}, {"user_code", uc},
		{"verification_uri", s.o.PublicBase + s.o.PathPrefix + "/oauth/device"}, {"expires_in", 300}, {"interval", 5}})
}

// deviceTokenLocked answers a device-code poll (§8.1).
func (s *Sim) deviceTokenLocked(w http.ResponseWriter, app App, deviceCode string) {
	g := s.devices[deviceCode]
	now := s.now()
	switch {
	case g == nil || g.ClientID != app.ClientID || g.Used:
		writeOAuthError(w, "invalid_request", "invalid request: device_code")
	case now.After(g.Expires):
		writeOAuthError(w, "expired_token", "expired token")
	case g.Denied:
		writeOAuthError(w, "access_denied", "access denied")
	case g.UserID == "":
		tooFast := !g.LastPoll.IsZero() && now.Sub(g.LastPoll) < 5*time.Second
		g.LastPoll = now
		if tooFast {
			writeOAuthError(w, "slow_down", "slow down")
			return
		}
		writeOAuthError(w, "authorization_pending", "Authorization pending")
	default:
		g.Used = true
		access, refresh, exp := s.issueLocked(g.UserID, app.ClientID, g.WorkspaceID)
		writeJSON(w, http.StatusOK, ordered{{"access_token", access}, {"expires_in", exp.Unix()}, {"refresh_token", refresh}})
	}
}

var deviceTmpl = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>设备授权 / Device authorization — coze2app Coze simulator</title><style>` + pageCSS + `</style></head>
<body><div class="banner">coze2app 模拟器 — 这不是真正的 Coze / coze2app simulator — this is not the real Coze</div>
<main class="card"><h1>设备授权 / Device authorization</h1>
{{if .Done}}<p id="device-result">{{.Done}}</p>{{else}}
<form method="post" action="{{.Action}}">
<label for="user_code">设备码 / User code</label>
<select name="user_code" id="user_code"><option value="{{.UserCode}}">{{.UserCode}}</option></select>
<label for="user_id">以此身份登录 / Sign in as</label>
<select name="user_id" id="user_id">{{range .Users}}<option value="{{.ID}}">{{.NickName}} ({{.UserName}})</option>{{end}}</select>
<div class="btns"><button type="submit" name="decision" value="approve" id="approve">同意授权 / Authorize</button>
<button type="submit" name="decision" value="deny" id="deny">拒绝 / Deny</button></div>
</form>{{end}}</main></body></html>`))

// GET/POST /oauth/device: the verification page of the device flow.
func (s *Sim) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, http.StatusBadRequest, "表单错误 / Bad form", err.Error())
		return
	}
	uc := strings.ToUpper(strings.TrimSpace(r.Form.Get("user_code")))
	s.mu.Lock()
	var g *deviceGrant
	for _, d := range s.devices {
		if d.UserCode == uc && !d.Used && s.now().Before(d.Expires) {
			g = d
		}
	}
	users := append([]User(nil), s.users...)
	done := ""
	if g != nil && r.Method == http.MethodPost {
		switch r.PostForm.Get("decision") {
		case "approve":
			if _, known := s.userByID[r.PostForm.Get("user_id")]; known {
				g.UserID, done = r.PostForm.Get("user_id"), "已授权，请回到设备。 / Authorized — return to your device."
			}
		default:
			g.Denied, done = true, "已拒绝。 / Denied."
		}
	}
	s.mu.Unlock()
	if g == nil {
		s.renderError(w, http.StatusBadRequest, "设备码无效 / Invalid user code", "Check the code shown on your device.")
		return
	}
	setPageHeaders(w)
	_ = deviceTmpl.Execute(w, map[string]any{"Action": s.o.PathPrefix + "/oauth/device", "UserCode": uc, "Users": users, "Done": done})
}
