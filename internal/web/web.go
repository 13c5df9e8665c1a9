// Package web is coze2app's HTTP surface: every route, the JSON contract of
// the page, security headers, cross-origin protection and the embedded page.
//
// The browser's JSON is ours, mapped from coze types, so a change on Coze's
// side cannot silently change what the page receives.
package web

import (
	"cmp"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/metrics"
	"github.com/coze2app/coze2app/internal/store"
)

// Deps are the collaborators of the web layer.
type Deps struct {
	Auth    *auth.Auth
	Chat    *chat.Service
	Store   *store.Store
	Coze    *coze.Client
	Metrics *metrics.Metrics
	Log     *slog.Logger

	// PublicURL is the origin browsers use (scheme, host, port). It decides
	// HSTS and the origin trusted behind a proxy that rewrites Host.
	PublicURL string
	// Demo is true when the built-in simulator stands in for Coze.
	Demo bool
	// Region is the Coze region ("cn" or "com"; default "cn"): it names the
	// CDN hosts answer images may load from (issue 8 item 6).
	Region string
	// Sim is the simulator, mounted at /_sim in demo mode only.
	Sim http.Handler
	// Ready reports whether the instance takes traffic (false while draining).
	Ready func() bool

	// TrustedProxies may name the client in X-Forwarded-For (issue 8 item 2).
	TrustedProxies []netip.Prefix
	// SignInBurst and SignInEvery rate-limit GET /auth per client address:
	// a burst, then one more per interval. Defaults 20 and 3s (20 a minute).
	SignInBurst int
	SignInEvery time.Duration

	// One user's share (issue 8 item 3): chats started per minute (default
	// 30) and uploads in flight (default 2). Replies in progress are capped
	// by chat.Options.MaxRepliesPerUser.
	ChatsPerMinute    int
	MaxUploadsPerUser int

	BotCacheTTL    time.Duration // default 30s
	MaxUploadBytes int64         // default 20 MiB
	Now            func() time.Time
}

// Server holds the handlers' shared state.
type Server struct {
	d      Deps
	public *url.URL
	https  bool
	bots   *botCache
	static *staticFiles

	csp     string   // Content-Security-Policy of the page
	signIns *limiter // GET /auth per client address
	chats   *limiter // POST /api/chat per user

	uploadsMu sync.Mutex
	uploads   map[int64]int // uploads in flight per user
}

// New builds the complete handler, middleware included.
func New(d Deps) (http.Handler, error) {
	_, h, err := newServer(d)
	return h, err
}

func newServer(d Deps) (*Server, http.Handler, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.BotCacheTTL == 0 {
		d.BotCacheTTL = 30 * time.Second
	}
	if d.MaxUploadBytes == 0 {
		d.MaxUploadBytes = 20 << 20
	}
	d.ChatsPerMinute = cmp.Or(max(d.ChatsPerMinute, 0), 30)
	d.MaxUploadsPerUser = cmp.Or(max(d.MaxUploadsPerUser, 0), 2)
	if d.Ready == nil {
		d.Ready = func() bool { return true }
	}
	pub, err := url.Parse(d.PublicURL)
	if err != nil {
		return nil, nil, err
	}
	st, err := loadStatic(imageSources(d.Region, d.Demo))
	if err != nil {
		return nil, nil, err
	}
	s := &Server{
		d:       d,
		public:  pub,
		https:   pub.Scheme == "https",
		bots:    newBotCache(d.BotCacheTTL, d.Now),
		static:  st,
		csp:     buildCSP(imageSources(d.Region, d.Demo), st.importMapCSP),
		signIns: newLimiter(cmp.Or(d.SignInBurst, 20), cmp.Or(d.SignInEvery, 3*time.Second), maxLimiterKeys, d.Now),
		chats:   newLimiter(d.ChatsPerMinute, time.Minute/time.Duration(d.ChatsPerMinute), maxLimiterKeys, d.Now),
		uploads: map[int64]int{},
	}
	h, err := s.routes()
	return s, h, err
}
