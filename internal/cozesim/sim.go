package cozesim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options configures a Sim. The zero value is usable.
type Options struct {
	// PathPrefix is where the handler is mounted externally ("" or e.g. "/_sim").
	// It is used in redirects, form actions and asset URLs. Requests may arrive
	// with or without it (http.StripPrefix or a direct mount both work).
	PathPrefix string
	// PublicBase is the absolute origin for asset URLs (icons, images), e.g.
	// "http://127.0.0.1:7000". Empty means relative URLs (PathPrefix+"/assets/...").
	PublicBase string
	// Apps are the OAuth apps the simulator knows; empty means one DefaultApp().
	Apps []App
	// Clock is the time source; nil means real time.
	Clock Clock
	// AccessTTL is the access-token lifetime (default 15m).
	AccessTTL time.Duration
	// RefreshTTL is the refresh-token lifetime (default 30 days, sliding).
	RefreshTTL time.Duration
	// CodeTTL is the authorization-code lifetime (default 10m).
	CodeTTL time.Duration
	// RefusePKCEForWebApps refuses a code_challenge or code_verifier from an
	// app that has a client secret, like any bad OAuth request: Coze binds
	// PKCE to public apps and no SDK combines the two (coze-protocol E1).
	RefusePKCEForWebApps bool
	// BotListPageIndexOnly makes GET /v1/bots read only page_index, the
	// parameter coze-py sends, and ignore page_num, which the docs and
	// coze-js send (coze-protocol E3). By default either is read.
	BotListPageIndexOnly bool
	// RevokeAccessOnRefresh kills the previous access token at refresh (§19 Q5 reading B).
	RevokeAccessOnRefresh bool
	// InvalidTokenStatus is the HTTP status for invalid tokens: 401 (default) or 200 (§19 Q2).
	InvalidTokenStatus int
	// InvalidTokenCode is 4100 (default) or 700012006.
	InvalidTokenCode int
	// DeltaDelay is the pause between stream deltas (default 0). The Slow
	// Storyteller always waits at least 50ms.
	DeltaDelay time.Duration
	// ChatDelay is how long a non-stream chat stays in_progress (default 0:
	// it completes on the first observation after creation).
	ChatDelay time.Duration
	// MaxUploadBytes caps /v1/files/upload (default 512 MB, §12.1).
	MaxUploadBytes int64
	// HostileMetadata puts XSS payloads into metadata sinks too: the XSS Lab
	// bot's name and description, its icon_url ("javascript:…"), Chen's nick
	// name and Chen's workspace name (SECURITY-CATALOG #70).
	HostileMetadata bool
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// OnChange, when set, is called after each request that may have changed
	// what a Snapshot holds (any method but GET, HEAD and OPTIONS), once its
	// handler returned. It must not block: the demo only marks the state dirty.
	OnChange func()
}

// App is an OAuth app registered with the simulator.
type App struct {
	Name         string
	ClientID     string
	ClientSecret string // "" => public PKCE app
	RedirectURIs []string
}

// DefaultApp is the app used when Options.Apps is empty.
func DefaultApp() App {
	return App{
		Name:         "coze2app (demo)",
		ClientID:     "81734206536653066151822452691234.app.coze",
		ClientSecret: "sim_secret_0123456789abcdef",
		RedirectURIs: []string{"http://127.0.0.1:8080/callback", "http://localhost:8080/callback"},
	}
}

// Request is one request the simulator received (see Sim.Requests).
type Request struct {
	Method string
	Host   string
	Path   string // without PathPrefix
	Query  url.Values
	Header http.Header
	Body   []byte // first 64 KiB
	At     time.Time
}

const (
	maxRecordedBody = 64 << 10
	// maxRequests bounds the entries of the request log (see requestlog.go).
	maxRequests = 10000
)

// Sim is a fake Coze: an http.Handler serving both the "www" paths (authorize,
// consent) and the "api" paths. Create it with New.
type Sim struct {
	o     Options
	clock Clock
	log   *slog.Logger
	mux   *http.ServeMux
	wg    sync.WaitGroup

	mu       sync.Mutex
	seq      uint64
	apps     map[string]App
	calls    map[string]int
	requests requestRing
	faults   []*faultState

	users      []User
	userByID   map[string]User
	workspaces []*workspace
	bots       map[string]*bot
	botOrder   []string
	workflows  map[string]*workflow
	wfOrder    []string
	runs       map[string]*wfRun
	files      map[string]*file
	convs      map[string]*conversation
	chats      map[string]*chat
	authKeys   map[string]*authorizeRequest
	codes      map[string]*authCode
	access     map[string]*accessToken
	refresh    map[string]*refreshToken
}

type ctxKey int

const (
	ctxFault ctxKey = iota
	ctxLogID
	ctxToken
)

// New returns a simulator with the demo data loaded.
func New(o Options) *Sim {
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.AccessTTL <= 0 {
		o.AccessTTL = 15 * time.Minute
	}
	if o.RefreshTTL <= 0 {
		o.RefreshTTL = 30 * 24 * time.Hour
	}
	if o.CodeTTL <= 0 {
		o.CodeTTL = 10 * time.Minute
	}
	if o.InvalidTokenStatus == 0 {
		o.InvalidTokenStatus = http.StatusUnauthorized
	}
	if o.InvalidTokenCode == 0 {
		o.InvalidTokenCode = 4100
	}
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = 512 << 20
	}
	o.PathPrefix = strings.TrimRight(o.PathPrefix, "/")
	o.PublicBase = strings.TrimRight(o.PublicBase, "/")
	if len(o.Apps) == 0 {
		o.Apps = []App{DefaultApp()}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		o: o, clock: o.Clock, log: log,
		apps:      map[string]App{},
		calls:     map[string]int{},
		bots:      map[string]*bot{},
		workflows: map[string]*workflow{},
		runs:      map[string]*wfRun{},
		files:     map[string]*file{},
		convs:     map[string]*conversation{},
		chats:     map[string]*chat{},
		authKeys:  map[string]*authorizeRequest{},
		codes:     map[string]*authCode{},
		access:    map[string]*accessToken{},
		refresh:   map[string]*refreshToken{},
	}
	for _, a := range o.Apps {
		s.apps[a.ClientID] = a
	}
	s.seedLocked()
	s.mux = s.routes()
	return s
}

// Close stops background work and waits for it. Streams end when their
// clients disconnect; Close does not cut them.
func (s *Sim) Close() { s.wg.Wait() }

func (s *Sim) now() time.Time { return s.clock.Now() }

// ServeHTTP records and counts the request, applies faults, then routes it.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := s.o.PathPrefix; p != "" && (r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/")) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(r.URL.Path, p)
		r2.URL.RawPath = ""
		r = r2
	}
	if r.URL.Path == "" {
		r.URL.Path = "/"
	}
	logID := newLogID(s.now())
	w.Header().Set("X-Tt-Logid", logID)
	ctx := context.WithValue(r.Context(), ctxLogID, logID)

	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	}
	_, pattern := s.mux.Handler(r)
	pattern = patternPath(pattern)
	method := callMethod(r.Method)
	key := method + " " + r.URL.Path
	if pattern == "" {
		key = method + " (unrouted)" // made-up paths share one counter
	}
	s.mu.Lock()
	s.requests.add(Request{
		Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body, At: s.now(),
	})
	if _, ok := s.calls[key]; ok || len(s.calls) < maxCallKeys {
		s.calls[key]++
	}
	if pattern != "" && pattern != r.URL.Path {
		s.calls[method+" "+pattern]++
	}
	if r.URL.Path == "/api/permission/oauth2/token" {
		var g struct {
			GrantType string `json:"grant_type"`
		}
		_ = json.Unmarshal(body, &g)
		s.calls["token:"+g.GrantType]++ // counted even when a fault answers
	}
	f := s.takeFaultLocked(r.Method+" "+r.URL.Path, r.Method+" "+pattern, isAPIPath(r.URL.Path))
	s.mu.Unlock()
	s.log.DebugContext(ctx, "sim request", "method", method, "path", clipForLog(r.URL.Path))

	if f != nil {
		if handled := s.applyFault(ctx, w, r, f); handled {
			return
		}
		ctx = context.WithValue(ctx, ctxFault, f)
	}
	s.mux.ServeHTTP(w, r.WithContext(ctx))
	if s.o.OnChange != nil && mayChange(r.Method) {
		s.o.OnChange()
	}
}

// mayChange reports whether a request with this method may change state.
// Reads that settle a non-stream chat change it too, but the same
// observation after a Restore settles it the same way.
func mayChange(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// patternPath turns a mux pattern "GET /v1/bots/{bot_id}" into "/v1/bots/{bot_id}".
func patternPath(p string) string {
	if i := strings.IndexByte(p, ' '); i >= 0 {
		return p[i+1:]
	}
	return p
}

func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v3/") ||
		(strings.HasPrefix(p, "/api/permission/oauth2/") && !strings.HasSuffix(p, "/authorize"))
}

func logIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxLogID).(string)
	return id
}

func faultFrom(ctx context.Context) *Fault {
	f, _ := ctx.Value(ctxFault).(*Fault)
	return f
}

// assetURL returns the URL of a file served under {prefix}/assets/.
func (s *Sim) assetURL(name string) string {
	return s.o.PublicBase + s.o.PathPrefix + "/assets/" + name
}

// writeJSON writes v as compact JSON without HTML escaping (Coze sends "<" as is).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// compactJSON is one line of JSON without HTML escaping, for SSE data lines.
func compactJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

type detail struct {
	LogID string `json:"logid"`
}

// ok writes the standard envelope {code:0,msg:"",data,detail} (coze-protocol §2).
func ok(w http.ResponseWriter, r *http.Request, data any) {
	writeJSON(w, http.StatusOK, envelope(0, "", map[string]any{"data": data}, logIDFrom(r.Context())))
}

// okFields writes an envelope with extra top-level fields and no data unless given.
func okFields(w http.ResponseWriter, r *http.Request, fields map[string]any) {
	writeJSON(w, http.StatusOK, envelope(0, "", fields, logIDFrom(r.Context())))
}

// apiError is an OpenAPI business error {code,msg}.
type apiError struct {
	Code int
	Msg  string
}

func (e *apiError) Error() string { return e.Msg }

func errf(code int, msg string) *apiError { return &apiError{Code: code, Msg: msg} }

// fail writes an OpenAPI error envelope. Business errors use HTTP 200 (§3.1).
func fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	writeJSON(w, http.StatusOK, envelope(e.Code, e.Msg, nil, logIDFrom(r.Context())))
}

// failToken writes the invalid-token error: 4100 or 700012006, HTTP 401 or
// 200 (§3.1, §19 Q2). Observed bodies carry no detail.
func (s *Sim) failToken(w http.ResponseWriter) {
	msg := "authentication is invalid"
	if s.o.InvalidTokenCode == 700012006 {
		msg = "access token invalid"
	}
	writeJSON(w, s.o.InvalidTokenStatus, envelope(s.o.InvalidTokenCode, msg, nil, ""))
}

// decodeOrFail is decodeBody that answers its error; it reports whether v was decoded.
func decodeOrFail(w http.ResponseWriter, r *http.Request, v any) bool {
	if e := decodeBody(r, v); e != nil {
		fail(w, r, e)
		return false
	}
	return true
}

// decodeBody decodes an optional JSON body into v; an empty body is fine
// (§1.2). Unknown fields are ignored.
func decodeBody(r *http.Request, v any) *apiError {
	b, err := io.ReadAll(io.LimitReader(r.Body, 20<<20))
	if err != nil {
		return errf(4000, "Request parameter error: read body")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errf(4000, "Request parameter error: invalid JSON body")
	}
	return nil
}
