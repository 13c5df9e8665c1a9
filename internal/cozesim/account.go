package cozesim

import "net/http"

// GET /v1/users/me (§9)
func (s *Sim) handleMe(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.mu.Lock()
	u := s.userByID[t.UserID]
	s.mu.Unlock()
	ok(w, r, map[string]any{"user_id": u.ID, "user_name": u.UserName, "nick_name": u.NickName, "avatar_url": u.AvatarURL})
}

// GET /v1/workspaces (§10): every workspace the user belongs to.
func (s *Sim) handleWorkspaces(w http.ResponseWriter, r *http.Request, t *accessToken) {
	q := r.URL.Query()
	page, size := intParam(q.Get("page_num"), 1), intParam(q.Get("page_size"), 20)
	if page < 1 || size < 1 || size > 50 {
		fail(w, r, errf(4000, "Request parameter error: page_num/page_size"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var mine []map[string]any
	for _, ws := range s.workspaces {
		role := ws.role(t.UserID)
		if role == "" || (t.WorkspaceID != "" && ws.ID != t.WorkspaceID) {
			continue
		}
		if ent := q.Get("enterprise_id"); ent != "" && ws.EnterpriseID != ent {
			continue
		}
		mine = append(mine, map[string]any{"id": ws.ID, "name": ws.Name, "icon_url": ws.IconURL, "role_type": role,
			"enterprise_id": ws.EnterpriseID, "workspace_type": ws.Type})
	}
	start := min((page-1)*size, len(mine))
	end := min(start+size, len(mine))
	out := append([]map[string]any{}, mine[start:end]...)
	ok(w, r, map[string]any{"workspaces": out, "total_count": len(mine)})
}
