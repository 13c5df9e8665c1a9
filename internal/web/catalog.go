package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The catalog holds every sentence a person reads, in English and Chinese,
// keyed by id: the page's words, the error messages ("error.<key>", with an
// optional "error.<key>.hint") and the sign-in error pages ("callback.…").
// It is static/i18n/messages.json, which the page loads too, so the server
// answers a code and params and both sides say it the same way.
type catalog map[string]map[string]string // language → id → text

const (
	langEn = "en"
	langZh = "zh-CN"
)

var messages = mustLoadCatalog()

func mustLoadCatalog() catalog {
	b, err := staticFS.ReadFile("static/i18n/messages.json")
	if err != nil {
		panic(err)
	}
	var c catalog
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("static/i18n/messages.json: %v", err))
	}
	return c
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

// lookup renders id in lang (falling back to English) with {name}
// placeholders filled from params; ok is false when the id is missing.
func (c catalog) lookup(lang, id string, params map[string]any) (string, bool) {
	s, ok := c[lang][id]
	if !ok {
		if s, ok = c[langEn][id]; !ok {
			return "", false
		}
	}
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := params[m[1:len(m)-1]]; ok {
			return fmt.Sprint(v)
		}
		return m
	}), true
}

// text is lookup that answers the id itself when it is missing.
func (c catalog) text(lang, id string, params map[string]any) string {
	if s, ok := c.lookup(lang, id, params); ok {
		return s
	}
	return id
}

// langCookie carries the page's language choice to pages the server renders
// itself (js/i18n.js sets it; not a secret, so readable by the page).
const langCookie = "coze2app_lang"

// langOf reads the page's language choice (X-Lang on its requests, the
// langCookie on a navigation) or else Accept-Language.
func langOf(r *http.Request) string {
	l := r.Header.Get("X-Lang")
	if c, err := r.Cookie(langCookie); l == "" && err == nil {
		l = c.Value
	}
	if l == "" {
		l = strings.TrimSpace(r.Header.Get("Accept-Language"))
	}
	if strings.HasPrefix(strings.ToLower(l), "zh") {
		return langZh
	}
	return langEn
}
