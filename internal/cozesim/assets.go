package cozesim

import (
	"fmt"
	"net/http"
	"strings"
)

// svgIcon draws a rounded square with a label: the simulator's own icons.
func svgIcon(bg, label string) string {
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">`+
		`<rect width="96" height="96" rx="22" fill="%s"/>`+
		`<text x="48" y="60" font-family="sans-serif" font-size="36" font-weight="700" fill="#fff" text-anchor="middle">%s</text></svg>`, bg, label)
}

var assets = map[string]string{
	"assistant.svg": svgIcon("#4d53e8", "AI"),
	"memory.svg":    svgIcon("#0f9d77", "M"),
	"xss.svg":       svgIcon("#d92d20", "X"),
	"slow.svg":      svgIcon("#b54708", "S"),
	"draft.svg":     svgIcon("#667085", "D"),
	"custom.svg":    svgIcon("#7a5af8", "B"),
	"thinking.svg":  svgIcon("#6941c6", "T"),
	"card.svg":      svgIcon("#c11574", "C"),
	"question.svg":  svgIcon("#027a48", "Q"),
	"math.svg":      svgIcon("#175cd3", "∑"),
	"workflow.svg":  svgIcon("#1570ef", "W"),
	"team.svg":      svgIcon("#2b2f77", "T"),
	"personal.svg":  svgIcon("#12b76a", "P"),
	"avatar-1.svg":  svgIcon("#f79009", "A"),
	"avatar-2.svg":  svgIcon("#ee46bc", "B"),
	"avatar-3.svg":  svgIcon("#06aed4", "C"),
	"diagram.svg": `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="120" viewBox="0 0 320 120">` +
		`<rect width="320" height="120" rx="12" fill="#f4f5fb"/>` +
		`<rect x="16" y="40" width="80" height="40" rx="8" fill="#4d53e8"/><text x="56" y="65" font-family="sans-serif" font-size="14" fill="#fff" text-anchor="middle">App</text>` +
		`<rect x="224" y="40" width="80" height="40" rx="8" fill="#0f9d77"/><text x="264" y="65" font-family="sans-serif" font-size="14" fill="#fff" text-anchor="middle">Coze</text>` +
		`<path d="M100 60h116" stroke="#1f2330" stroke-width="3" marker-end="url(#a)"/>` +
		`<defs><marker id="a" markerWidth="8" markerHeight="8" refX="6" refY="4" orient="auto"><path d="M0 0L8 4L0 8z" fill="#1f2330"/></marker></defs></svg>`,
}

// GET /assets/{name}: small SVG icons and the diagram of the markdown reply.
func (s *Sim) handleAsset(w http.ResponseWriter, r *http.Request) {
	body, found := assets[r.PathValue("name")]
	if !found {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write([]byte(body))
}

// handleIndex describes the simulator at "/".
func (s *Sim) handleIndex(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	b.WriteString("coze2app Coze simulator — not the real Coze.\n")
	b.WriteString("www paths: /api/permission/oauth2/authorize, /oauth/consent\napi paths: /api/permission/oauth2/token, /v1/..., /v3/...\n")
	_, _ = w.Write([]byte(b.String()))
}
