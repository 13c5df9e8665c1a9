package cozesim

import (
	"html/template"
	"net/http"
)

const pageCSS = `body{margin:0;font:15px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f4f5fb;color:#1f2330}
.banner{background:#2b2f77;color:#fff;padding:8px 16px;font-size:13px;text-align:center}
.card{max-width:440px;margin:48px auto;background:#fff;border-radius:14px;box-shadow:0 6px 24px rgba(30,40,90,.12);padding:28px 32px}
h1{font-size:20px;margin:0 0 4px} .sub{color:#5b6175;margin:0 0 20px;font-size:13px}
dl{margin:0 0 18px} dt{font-size:12px;color:#7a8095;text-transform:uppercase;letter-spacing:.04em} dd{margin:0 0 10px;word-break:break-all;font-weight:600}
label{display:block;font-size:13px;color:#444a5e;margin-bottom:6px} select{width:100%;padding:9px;border:1px solid #ccd0e0;border-radius:8px;font-size:15px;margin-bottom:20px}
.btns{display:flex;gap:12px} button{flex:1;padding:11px;border-radius:8px;border:0;font-size:15px;cursor:pointer}
#approve{background:#4d53e8;color:#fff} #deny{background:#eceef5;color:#333}
.note{font-size:12px;color:#7a8095;margin-top:18px} .err{color:#b42318}`

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>授权 / Authorize — coze2app Coze simulator</title><style>` + pageCSS + `</style></head>
<body><div class="banner">coze2app 模拟器 — 这不是真正的 Coze / coze2app simulator — this is not the real Coze</div>
<main class="card">
<h1>授权应用 / Authorize app</h1>
<p class="sub">“{{.AppName}}” 请求访问你的 Coze 账号。 / “{{.AppName}}” wants to access your Coze account.</p>
<dl><dt>应用 / App</dt><dd id="app-name">{{.AppName}}</dd>
<dt>回调地址 / Redirect URI</dt><dd id="redirect-uri">{{.RedirectURI}}</dd>
{{if .WorkspaceID}}<dt>工作空间 / Workspace</dt><dd>{{.WorkspaceID}}</dd>{{end}}</dl>
<form method="post" action="{{.Action}}">
<input type="hidden" name="authorize_key" value="{{.Key}}">
<label for="user_id">以此身份登录 / Sign in as</label>
<select name="user_id" id="user_id">{{range .Users}}<option value="{{.ID}}">{{.NickName}} ({{.UserName}})</option>{{end}}</select>
<div class="btns"><button type="submit" name="decision" value="approve" id="approve">同意授权 / Authorize</button>
<button type="submit" name="decision" value="deny" id="deny">拒绝 / Deny</button></div>
</form>
<p class="note">演示用户无需密码。 / Demo users need no password.</p>
</main></body></html>`))

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} — coze2app Coze simulator</title><style>` + pageCSS + `</style></head>
<body><div class="banner">coze2app 模拟器 — 这不是真正的 Coze / coze2app simulator — this is not the real Coze</div>
<main class="card"><h1 class="err">{{.Title}}</h1><p id="error-detail">{{.Detail}}</p></main></body></html>`))

func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'")
}

// handleConsentGet is GET /oauth/consent?authorize_key=K.
func (s *Sim) handleConsentGet(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("authorize_key")
	s.mu.Lock()
	ar := s.authKeys[key]
	users := append([]User(nil), s.users...)
	s.mu.Unlock()
	if ar == nil || s.now().After(ar.Expires) {
		s.renderError(w, http.StatusBadRequest, "授权请求已失效 / Authorization request expired", "Start the sign-in again from the app.")
		return
	}
	setPageHeaders(w)
	_ = consentTmpl.Execute(w, map[string]any{
		"AppName": ar.App.Name, "RedirectURI": ar.RedirectURI, "WorkspaceID": ar.WorkspaceID,
		"Action": s.o.PathPrefix + "/oauth/consent", "Key": key, "Users": users,
	})
}

func (s *Sim) renderError(w http.ResponseWriter, status int, title, detail string) {
	setPageHeaders(w)
	w.WriteHeader(status)
	_ = errorTmpl.Execute(w, map[string]string{"Title": title, "Detail": detail})
}
