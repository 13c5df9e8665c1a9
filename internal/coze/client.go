package coze

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Region base URLs (coze-protocol §1.1). Authorize pages live on www, everything else on api.
const (
	APIBaseCN  = "https://api.coze.cn"
	WWWBaseCN  = "https://www.coze.cn"
	APIBaseCOM = "https://api.coze.com"
	WWWBaseCOM = "https://www.coze.com"
)

// Defaults for Options.
const (
	DefaultTimeout             = 30 * time.Second
	DefaultStreamHeaderTimeout = 30 * time.Second
	// DefaultStreamIdleTimeout is a little longer than the chat relay's own idle limit
	// (internal/chat), so that one still decides how a silent reply ends.
	DefaultStreamIdleTimeout   = 90 * time.Second
	DefaultWorkflowIdleTimeout = 5 * time.Minute
	DefaultMaxBodyBytes        = 8 << 20
	DefaultMaxEventBytes       = 1 << 20
	DefaultRetries             = 2
)

// Options configures a Client. Zero values get the documented defaults.
type Options struct {
	// APIBase and WWWBase are origins without a trailing slash and may include a path
	// prefix (e.g. http://127.0.0.1:5000/_sim). APIBase "" => APIBaseCN; WWWBase "" =>
	// derived from APIBase by replacing "//api." with "//www." (as the SDKs do), else APIBase.
	APIBase, WWWBase string
	ClientID         string
	ClientSecret     ClientSecret // "" => public PKCE client: no secret header sent
	RedirectURI      string
	// HTTPClient nil => an own client whose transport has ResponseHeaderTimeout. A given
	// client is copied; its Timeout is never used for streams, and a nil CheckRedirect is
	// replaced by the Coze-hosts-only policy.
	HTTPClient          *http.Client
	Timeout             time.Duration // per non-stream call, retries included (default 30s)
	StreamHeaderTimeout time.Duration // streams: response headers only (default 30s)
	// StreamIdleTimeout ends a chat stream (/v3/chat, submit_tool_outputs) that sends
	// nothing for this long, the wait for its first event included (default 90s; < 0 none).
	StreamIdleTimeout time.Duration
	// WorkflowIdleTimeout is the same for workflow streams (stream_run, stream_resume,
	// chatflows), whose nodes may think for minutes between events (default 5m; < 0 none).
	WorkflowIdleTimeout time.Duration
	MaxBodyBytes        int64 // non-stream body cap (default 8 MiB)
	MaxEventBytes       int   // SSE line / event data cap (default 1 MiB)
	Retries             int   // idempotent GETs on 5xx/429/connection errors (default 2; <0 = none)
	// UnencryptedHTTP2 speaks HTTP/2 without TLS (prior knowledge, h2c) to an
	// http:// APIBase, e.g. the simulator. Over https, Go negotiates HTTP/2 on
	// its own. With HTTP/2 every open stream shares one connection instead of
	// holding its own socket and two transport goroutines.
	UnencryptedHTTP2 bool
}

// Client talks to one Coze region. It is safe for concurrent use.
type Client struct {
	apiBase, wwwBase string
	apiURL, wwwURL   *url.URL
	clientID         string
	secret           ClientSecret
	redirectURI      string
	hc               *http.Client // non-stream
	shc              *http.Client // streams: never a Client.Timeout
	timeout          time.Duration
	streamHdr        time.Duration
	chatIdle         time.Duration // <= 0: none
	workflowIdle     time.Duration // <= 0: none
	afterFunc        func(time.Duration, func()) idleTimer
	maxBody          int64
	maxEvent         int
	retries          int
	backoff          func(attempt int) time.Duration
}

// New returns a Client for o.
func New(o Options) *Client {
	c := &Client{
		apiBase:      strings.TrimRight(o.APIBase, "/"),
		wwwBase:      strings.TrimRight(o.WWWBase, "/"),
		clientID:     o.ClientID,
		secret:       o.ClientSecret,
		redirectURI:  o.RedirectURI,
		timeout:      positiveOr(o.Timeout, DefaultTimeout),
		streamHdr:    positiveOr(o.StreamHeaderTimeout, DefaultStreamHeaderTimeout),
		chatIdle:     zeroOr(o.StreamIdleTimeout, DefaultStreamIdleTimeout),
		workflowIdle: zeroOr(o.WorkflowIdleTimeout, DefaultWorkflowIdleTimeout),
		afterFunc:    afterFunc,
		maxBody:      positiveOr(o.MaxBodyBytes, DefaultMaxBodyBytes),
		maxEvent:     positiveOr(o.MaxEventBytes, DefaultMaxEventBytes),
		retries:      zeroOr(o.Retries, DefaultRetries),
		backoff:      defaultBackoff,
	}
	if c.apiBase == "" {
		c.apiBase = APIBaseCN
	}
	if c.wwwBase == "" {
		c.wwwBase = c.apiBase
		if i := strings.Index(c.apiBase, "//api."); i >= 0 {
			c.wwwBase = c.apiBase[:i] + "//www." + c.apiBase[i+len("//api."):]
		}
	}
	c.apiURL, _ = url.Parse(c.apiBase)
	c.wwwURL, _ = url.Parse(c.wwwBase)
	if c.apiURL == nil {
		c.apiURL = &url.URL{}
	}
	if c.wwwURL == nil {
		c.wwwURL = &url.URL{}
	}
	if o.HTTPClient != nil {
		hc := *o.HTTPClient
		if hc.CheckRedirect == nil {
			hc.CheckRedirect = c.checkRedirect
		}
		c.hc = &hc
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = c.streamHdr
		tr.MaxIdleConnsPerHost = 32
		// Requests are small JSON; the SSE reader keeps its own buffer. Smaller
		// per-connection buffers keep thousands of open streams cheap.
		tr.WriteBufferSize = 1 << 10
		tr.ReadBufferSize = 2 << 10
		if o.UnencryptedHTTP2 {
			tr.Protocols = new(http.Protocols)
			tr.Protocols.SetHTTP2(true)
			tr.Protocols.SetUnencryptedHTTP2(true)
		}
		c.hc = &http.Client{Transport: tr, CheckRedirect: c.checkRedirect}
	}
	shc := *c.hc
	shc.Timeout = 0 // streams are bounded by ctx and StreamHeaderTimeout only
	c.shc = &shc
	return c
}

// zeroOr maps an option where 0 takes the default and < 0 is none (returned as 0): the
// idle limits and Retries.
func zeroOr[T ~int | ~int64](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// positiveOr maps an option where anything <= 0 takes the default.
func positiveOr[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// WWWBase returns the browser (authorize) base URL in use (no trailing slash).
func (c *Client) WWWBase() string { return c.wwwBase }

// checkRedirect refuses redirects off the configured Coze hosts (SECURITY-CATALOG 31);
// Go also drops Authorization on cross-host redirects.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("coze: too many redirects")
	}
	if !sameOrigin(req.URL, c.apiURL) && !sameOrigin(req.URL, c.wwwURL) {
		return fmt.Errorf("%w %q", errRedirectRefused, req.URL.Host)
	}
	return nil
}

var errRedirectRefused = errors.New("coze: refusing redirect to foreign host")

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// defaultBackoff: 100ms, 200ms, 400ms … capped at 1s, plus up to 50% jitter.
func defaultBackoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 4)
	d = min(d, time.Second)
	return d + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// endpoint joins the API base (with any path prefix) and an absolute API path.
func (c *Client) endpoint(path string, q url.Values) string {
	s := c.apiBase + path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// seg escapes one path segment so an ID can never change the path.
func seg(s string) string { return url.PathEscape(s) }

// retryableTransport reports connection-level errors worth one more GET.
func retryableTransport(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, errRedirectRefused) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false // the per-call budget or header timeout: do not multiply it
	}
	var ue *url.Error
	return errors.As(err, &ue)
}
