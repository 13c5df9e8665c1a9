package cozesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDeviceFlow(t *testing.T) {
	e := oauthEnv(t, Options{})
	_, _, b := e.do(t, http.MethodPost, "/api/permission/oauth2/device/code", "", map[string]any{"client_id": pkceApp.ClientID})
	checkFixture(t, "oauth_device_code_response.json", b)
	var dc map[string]any
	_ = json.Unmarshal(b, &dc)
	poll := func() tokenResult {
		return e.tokenCall(t, nil, map[string]any{"client_id": pkceApp.ClientID, "grant_type": deviceGrantType, "device_code": str(dc, "device_code")})
	}
	if r := poll(); r.body["error_code"] != "authorization_pending" {
		t.Errorf("first poll: %s", r.raw)
	}
	if r := poll(); r.body["error_code"] != "slow_down" {
		t.Errorf("fast poll: %s", r.raw)
	}
	_, _, page := e.do(t, http.MethodGet, "/oauth/device?user_code="+url.QueryEscape(str(dc, "user_code")), "", nil)
	if !strings.Contains(string(page), `id="approve"`) {
		t.Fatalf("device page: %s", page)
	}
	form := url.Values{"user_code": {str(dc, "user_code")}, "user_id": {UserChen}, "decision": {"approve"}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.base()+"/oauth/device", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("approve: %v %v", err, resp)
	}
	resp.Body.Close()
	e.clock.Advance(6 * time.Second)
	r := poll()
	if r.status != 200 || !strings.HasPrefix(r.Access, "czu_") {
		t.Fatalf("token: %s", r.raw)
	}
	me := e.mustOK(t, http.MethodGet, "/v1/users/me", r.Access, nil)
	if str(dataMap(me), "user_id") != UserChen {
		t.Errorf("me %v", me)
	}
	if r := poll(); r.status != 400 {
		t.Errorf("reuse: %s", r.raw)
	}
}
