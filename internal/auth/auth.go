// Package auth owns who the user is: the Coze OAuth sign-in (state bound to
// the browser, PKCE S256), session cookies with hashed secrets, the middleware
// that loads the user into the request context, and the rule "one refresh per
// user at a time, persisted before use" for the rotating Coze tokens.
package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store"
)

// Sentinel errors. The web layer maps them to responses with errors.Is:
// the sign-in errors to a friendly 400 page, ErrUnauthenticated and
// ErrReauthRequired to 401, ErrRefreshUnavailable to a retryable 503.
var (
	// ErrStateInvalid: the callback's state is missing, unknown, already used
	// or not bound to this browser, or the callback has no code.
	ErrStateInvalid = errors.New("auth: sign-in state invalid")
	// ErrStateExpired: the pending sign-in outlived PendingTTL.
	ErrStateExpired = errors.New("auth: sign-in expired")
	// ErrConsentDenied: Coze redirected back with an error (user denied).
	ErrConsentDenied = errors.New("auth: consent denied")
	// ErrExchangeFailed: the code exchange or the user lookup failed.
	ErrExchangeFailed = errors.New("auth: code exchange failed")
	// ErrUnauthenticated: no valid session.
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrReauthRequired: the Coze grant is gone (revoked, rotated away,
	// undecryptable); tokens and sessions of the user were deleted.
	ErrReauthRequired = errors.New("auth: reauthentication required")
	// ErrRefreshUnavailable: a refresh could not be done right now
	// (Coze unreachable, lock busy, database write failed). Retryable (503);
	// the session and the stored pair are kept.
	ErrRefreshUnavailable = errors.New("auth: token refresh unavailable")
	// ErrRefreshBusy: a waiter gave up after LockWait. It wraps
	// ErrRefreshUnavailable.
	ErrRefreshBusy = fmt.Errorf("refresh busy: %w", ErrRefreshUnavailable)
	// ErrBadReturnTo is kept for the contract; BeginSignIn sanitises return_to
	// to "/" instead of failing, so it is never returned.
	ErrBadReturnTo = errors.New("auth: bad return_to")
	// ErrBadWorkspace: workspace_id is not 1–30 ASCII digits.
	ErrBadWorkspace = errors.New("auth: bad workspace id")
	// ErrNotAllowed matches every *NotAllowedError: the deployment's
	// allow-list does not name this person (web: a 403 page).
	ErrNotAllowed = errors.New("auth: not on the allow-list")
	// ErrTooManySignIns: this browser, or the whole instance, has as many
	// pending sign-ins as allowed (web: 429).
	ErrTooManySignIns = errors.New("auth: too many pending sign-ins")
)

// Options configures New. Coze, Store and Sealer are required.
type Options struct {
	Coze   *coze.Client
	Store  *store.Store
	Sealer *seal.Sealer
	Log    *slog.Logger     // nil => discard
	Now    func() time.Time // nil => time.Now

	Region        string   // "cn" | "com", stored on the user row; "" => "cn"
	PKCE          PKCEMode // when to send an S256 challenge; "" => PKCEAuto
	SecureCookies bool     // public URL is https: Secure + "__Host-" prefix

	SessionIdle time.Duration // default 7*24h
	SessionMax  time.Duration // default 30*24h
	PendingTTL  time.Duration // default 10m

	// AllowUsers and AllowWorkspaces limit who may sign in: a Coze user id
	// listed, or a member of a listed workspace (checked at sign-in through
	// the workspace list). Both empty = anyone (issue 8 item 5).
	AllowUsers      []string
	AllowWorkspaces []string

	// GrantCheckEvery is how often a user's grant is confirmed with Coze on
	// requests that only read local history; default 5m (issue 8 item 8).
	GrantCheckEvery time.Duration

	MaxPending           int // pending sign-ins kept in all; default 10,000
	MaxPendingPerBrowser int // pending sign-ins of one browser; default 8

	RefreshSkew    time.Duration // refresh when the access token expires within this; default 60s
	LockWait       time.Duration // how long a waiter waits for another refresh; default 20s
	RefreshTimeout time.Duration // detached refresh+persist budget; default 30s
	MaxRefreshes   int           // refreshes in flight per instance (bounds the token endpoint and the DB pool); default 16

	OnRefresh func(outcome string) // metrics hook: "ok", "fatal", "transient"

	// CacheTTL bounds how long a session, user or token row read (and opened)
	// by this instance is used without reading it again; default
	// DefaultCacheTTL, negative = no cache. Changes made here take effect at
	// once; another instance's changes within CacheTTL.
	CacheTTL time.Duration
}

// PKCEMode says when sign-in uses PKCE S256.
type PKCEMode string

const (
	// PKCEAuto: PKCE only for a public client (a Coze client without a
	// secret). No official SDK sends a challenge or verifier together with a
	// client secret: coze-dev/coze-go auth.go has WebOAuthClient (secret, no
	// challenge) and NewPKCEOAuthClient (challenge, secret ""), coze-js and
	// coze-py likewise; Coze binds PKCE to public apps (coze-protocol E1).
	PKCEAuto PKCEMode = "auto"
	PKCEOn   PKCEMode = "on"  // always, also with a secret (undocumented by Coze)
	PKCEOff  PKCEMode = "off" // never; state alone binds the callback
)

// Auth is the sign-in, session and token service. It is safe for concurrent use.
type Auth struct {
	coze   *coze.Client
	store  *store.Store
	sealer *seal.Sealer
	log    *slog.Logger
	now    func() time.Time

	region        string
	pkce          bool
	secure        bool
	sessionIdle   time.Duration
	sessionMax    time.Duration
	pendingTTL    time.Duration
	maxPending    int64
	maxPerBrowser int64
	skew          time.Duration
	lockWait      time.Duration
	refreshBudget time.Duration
	onRefresh     func(string)
	grantEvery    time.Duration
	allowUsers    map[string]bool
	allowSpaces   map[string]bool

	mu      sync.Mutex
	flights map[int64]*flight    // in-flight refresh per user (one per process)
	slots   chan struct{}        // semaphore: refreshes in flight in this instance
	unsaved map[int64]coze.Token // refreshed pairs whose write failed; persisted on next use
	touched map[string]time.Time // session id -> last touch written by this process
	grantAt map[int64]time.Time  // user id -> last grant check by this process
	cache   *cache               // validated sessions and unsealed tokens (cache.go)
	wg      sync.WaitGroup       // refresh goroutines
}

// New checks o and returns an Auth.
func New(o Options) (*Auth, error) {
	if o.Coze == nil || o.Store == nil || o.Sealer == nil {
		return nil, errors.New("auth: Options.Coze, Store and Sealer are required")
	}
	var pkce bool
	switch o.PKCE {
	case PKCEAuto, "":
		pkce = !o.Coze.Confidential()
	case PKCEOn:
		pkce = true
	case PKCEOff:
	default:
		return nil, fmt.Errorf("auth: Options.PKCE %q is not auto, on or off", o.PKCE)
	}
	a := &Auth{
		coze:          o.Coze,
		store:         o.Store,
		sealer:        o.Sealer,
		log:           o.Log,
		now:           o.Now,
		region:        o.Region,
		pkce:          pkce,
		secure:        o.SecureCookies,
		sessionIdle:   orDefault(o.SessionIdle, 7*24*time.Hour),
		sessionMax:    orDefault(o.SessionMax, 30*24*time.Hour),
		pendingTTL:    orDefault(o.PendingTTL, 10*time.Minute),
		maxPending:    int64(cmp.Or(max(o.MaxPending, 0), 10_000)),
		maxPerBrowser: int64(cmp.Or(max(o.MaxPendingPerBrowser, 0), maxBindingStates)),
		skew:          orDefault(o.RefreshSkew, 60*time.Second),
		lockWait:      orDefault(o.LockWait, 20*time.Second),
		refreshBudget: orDefault(o.RefreshTimeout, 30*time.Second),
		onRefresh:     o.OnRefresh,
		flights:       map[int64]*flight{},
		slots:         make(chan struct{}, cmp.Or(max(o.MaxRefreshes, 0), 16)),
		unsaved:       map[int64]coze.Token{},
		touched:       map[string]time.Time{},
		grantAt:       map[int64]time.Time{},
		grantEvery:    orDefault(o.GrantCheckEvery, 5*time.Minute),
		cache:         newCache(cmp.Or(o.CacheTTL, DefaultCacheTTL)),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.allowUsers, a.allowSpaces = setOf(o.AllowUsers), setOf(o.AllowWorkspaces)
	if a.now == nil {
		a.now = time.Now
	}
	if a.region == "" {
		a.region = "cn"
	}
	if a.onRefresh == nil {
		a.onRefresh = func(string) {}
	}
	return a, nil
}

// SendsPKCE reports whether sign-in sends a PKCE challenge (Options.PKCE
// resolved against the client secret).
func (a *Auth) SendsPKCE() bool { return a.pkce }

// NotAllowedError names the Coze user the allow-list refused, so the page
// can tell them what to ask the operator for.
type NotAllowedError struct{ CozeUserID string }

func (e *NotAllowedError) Error() string {
	return "auth: Coze user " + e.CozeUserID + " is not on the allow-list"
}

// Is makes errors.Is(err, ErrNotAllowed) true.
func (e *NotAllowedError) Is(target error) bool { return target == ErrNotAllowed }

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// Wait blocks until every detached refresh started by a has finished
// (graceful shutdown and tests).
func (a *Auth) Wait() { a.wg.Wait() }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

type ctxKey int

const (
	userKey ctxKey = iota
	sessionKey
)

// UserFrom returns the signed-in user that Middleware put in ctx.
func UserFrom(ctx context.Context) (store.User, bool) {
	u, ok := ctx.Value(userKey).(store.User)
	return u, ok
}

// SessionFrom returns the session that Middleware put in ctx.
func SessionFrom(ctx context.Context) (store.Session, bool) {
	s, ok := ctx.Value(sessionKey).(store.Session)
	return s, ok
}

// WithUser returns ctx carrying u and s as Middleware would (for tests of
// packages built on auth).
func WithUser(ctx context.Context, u store.User, s store.Session) context.Context {
	ctx = context.WithValue(ctx, userKey, u)
	return context.WithValue(ctx, sessionKey, s)
}
