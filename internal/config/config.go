// Package config loads coze2app's settings from flags and the environment.
//
// Flags win over environment variables, which win over defaults. Load reports
// every problem at once, and secrets print as [REDACTED] wherever the Config is
// formatted or logged.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/redact"
)

// Secret is a configuration value that must never be printed or logged.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue redacts the secret in slog records.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Format redacts the secret for every fmt verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(s.String()))
		return
	}
	fmt.Fprint(f, s.String())
}

// Region defaults.
const (
	APIBaseCN  = "https://api.coze.cn"
	WWWBaseCN  = "https://www.coze.cn"
	APIBaseCOM = "https://api.coze.com"
	WWWBaseCOM = "https://www.coze.com"
)

// Config is everything `coze2app serve` needs.
type Config struct {
	ClientID     string
	ClientSecret Secret
	RedirectURI  string
	Region       string // "cn" or "com"
	APIBase      string
	WWWBase      string
	PKCE         string // "auto" (PKCE only without a client secret), "on" or "off"
	APIH2C       bool   // speak HTTP/2 without TLS to an http:// API base (the simulator)
	Addr         string
	DatabaseURL  string
	SecretKey    Secret
	PublicURL    string // origin the browser uses; defaults to the redirect URI's origin
	LogLevel     slog.Level
	LogFormat    string // "text" or "json"

	// MetricsAddr is where /metrics is served; "" = not served (issue 8 item 12).
	MetricsAddr string
	// DebugAddr is where net/http/pprof is served, for profiling (the
	// benchmarks); "" = not served. Never a public address.
	DebugAddr string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the
	// client (COZE2APP_TRUSTED_PROXIES, CIDRs or addresses); empty = the peer
	// is the client (issue 8 item 2).
	TrustedProxies []netip.Prefix
	// One user's share (issue 8 item 3); 0 = the default.
	MaxRepliesPerUser int // COZE2APP_MAX_REPLIES_PER_USER, default 8 (two tabs, each comparing 4 bots)
	MaxUploadsPerUser int // COZE2APP_MAX_UPLOADS_PER_USER, default 2
	ChatsPerMinute    int // COZE2APP_CHATS_PER_MINUTE, default 30
	// AllowUsers and AllowWorkspaces admit only these Coze user ids and the
	// members of these workspaces (COZE2APP_ALLOW "user:ID,workspace:ID");
	// both empty = anyone with a Coze account (issue 8 item 5).
	AllowUsers      []string
	AllowWorkspaces []string
	// DemoPublic lets demo mode listen on a non-loopback address (issue 8 item 4).
	DemoPublic bool
	// secretFlags names the secrets given on the command line (a warning).
	secretFlags []string

	// RedirectURISet records whether the redirect URI was configured explicitly.
	// In demo mode an unset redirect URI follows the address actually bound.
	RedirectURISet bool
	// SimDeltaDelay paces the demo simulator's streamed deltas.
	SimDeltaDelay time.Duration
	// SimHostile makes the demo simulator put XSS payloads in bot, workspace
	// and user names, to check every place the page shows them.
	SimHostile bool
	// WorkflowIdle is the longest silence of a workflow run's stream, its
	// wait for the first event included (PING heartbeats count as activity).
	WorkflowIdle time.Duration

	// HTTPS on Addr: PEM certificate and key files (re-read on SIGHUP), or
	// certificates from an ACME CA for ACMEDomains, cached in ACMECacheDir
	// (empty: beside the SQLite database), with a plain-HTTP listener on
	// ACMEHTTPAddr for the CA's challenge and redirects to HTTPS.
	TLSCert      string
	TLSKey       string
	ACMEDomains  []string
	ACMECacheDir string
	ACMEHTTPAddr string
}

// TLS reports whether coze2app itself serves HTTPS.
func (c Config) TLS() bool { return c.TLSCert != "" || len(c.ACMEDomains) > 0 }

// Demo reports whether coze2app runs against its built-in simulator.
func (c Config) Demo() bool { return c.ClientID == "" }

// Postgres reports whether the database URL points at PostgreSQL.
func (c Config) Postgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// PKCE modes (COZE_PKCE, --pkce). auth.New resolves "auto": PKCE only for a
// public client, as the official SDKs do (coze-protocol E1).
const (
	PKCEAuto = "auto"
	PKCEOn   = "on"
	PKCEOff  = "off"
)

// LogValue lists the settings with secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("demo", c.Demo()),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", c.ClientSecret.String()),
		slog.String("redirect_uri", c.RedirectURI),
		slog.String("region", c.Region),
		slog.String("api_base", c.shownBase(c.APIBase)),
		slog.String("www_base", c.shownBase(c.WWWBase)),
		slog.String("pkce", c.PKCE),
		slog.Bool("api_h2c", c.APIH2C),
		slog.String("addr", c.Addr),
		slog.String("database_url", redact.URL(c.DatabaseURL)),
		slog.String("secret_key", c.SecretKey.String()),
		slog.String("public_url", c.PublicURL),
		slog.String("tls_cert", c.TLSCert),
		slog.String("acme_domains", strings.Join(c.ACMEDomains, ",")),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("debug_addr", c.DebugAddr),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Any("allow_users", c.AllowUsers),
		slog.Any("allow_workspaces", c.AllowWorkspaces),
	)
}

// String prints the settings with secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	for _, a := range c.LogValue().Group() {
		fmt.Fprintf(&b, "%s=%s ", a.Key, a.Value)
	}
	return strings.TrimSpace(b.String())
}

// GoString prints the redacted settings for %#v.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// HelpError carries the flag usage when -h was asked for.
type HelpError struct{ Usage string }

func (e *HelpError) Error() string { return e.Usage }

// Load reads the serve command's flags from args and the environment through getenv.
func Load(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("coze2app serve", flag.ContinueOnError)
	var usage strings.Builder
	fs.SetOutput(&usage)
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	clientID := fs.String("client-id", env("COZE_CLIENT_ID", ""), "OAuth app client id (empty: demo mode with the built-in simulator)")
	clientSecret := fs.String("client-secret", env("COZE_CLIENT_SECRET", ""), "client secret of a web OAuth app (empty: PKCE public client)")
	redirectURI := fs.String("redirect-uri", env("COZE_REDIRECT_URI", ""), "callback URL registered on Coze")
	region := fs.String("region", env("COZE_REGION", "cn"), "Coze region: cn or com")
	apiBase := fs.String("api-base", env("COZE_API_BASE", ""), "Coze API base URL")
	wwwBase := fs.String("www-base", env("COZE_WWW_BASE", ""), "Coze www (authorize) base URL")
	pkce := fs.String("pkce", env("COZE_PKCE", PKCEAuto), "PKCE S256 at sign-in: auto (only without a client secret, as the official SDKs do), on or off")
	h2c := fs.String("api-h2c", env("COZE_API_H2C", "off"), "speak HTTP/2 without TLS to an http:// COZE_API_BASE, such as the coze2app sim command (on/off)")
	addr := fs.String("addr", env("COZE2APP_ADDR", "localhost:5000"), "listen address")
	dbURL := fs.String("database-url", env("COZE2APP_DATABASE_URL", "sqlite:coze2app.db"), "sqlite:PATH or postgres://...")
	secretKey := fs.String("secret-key", env("COZE2APP_SECRET_KEY", ""), "key material for token encryption")
	clientSecretFile := fs.String("client-secret-file", env("COZE_CLIENT_SECRET_FILE", ""), "read the client secret from this file (systemd credential, container secret)")
	secretKeyFile := fs.String("secret-key-file", env("COZE2APP_SECRET_KEY_FILE", ""), "read the token encryption key from this file")
	publicURL := fs.String("public-url", env("COZE2APP_PUBLIC_URL", ""), "origin the browser uses (default: the redirect URI's origin)")
	logLevel := fs.String("log-level", env("COZE2APP_LOG_LEVEL", "info"), "debug, info, warn or error")
	logFormat := fs.String("log-format", env("COZE2APP_LOG_FORMAT", "text"), "text or json")
	allow := fs.String("allow", env("COZE2APP_ALLOW", ""), "who may sign in: user:ID and workspace:ID, comma-separated (empty: anyone with a Coze account)")
	trustedProxies := fs.String("trusted-proxies", env("COZE2APP_TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client (empty: the peer address is the client)")
	maxReplies := fs.Int("max-replies-per-user", intEnv(getenv("COZE2APP_MAX_REPLIES_PER_USER"), 8), "replies in progress per user")
	maxUploads := fs.Int("max-uploads-per-user", intEnv(getenv("COZE2APP_MAX_UPLOADS_PER_USER"), 2), "uploads in flight per user")
	chatsPerMinute := fs.Int("chats-per-minute", intEnv(getenv("COZE2APP_CHATS_PER_MINUTE"), 30), "messages a user may send per minute")
	metricsAddr := fs.String("metrics-addr", env("COZE2APP_METRICS_ADDR", ""), "serve /metrics on this separate address, e.g. 127.0.0.1:9090 (empty: not served)")
	debugAddr := fs.String("debug-addr", env("COZE2APP_DEBUG_ADDR", ""), "serve net/http/pprof on this separate address, e.g. 127.0.0.1:6060 (empty: not served)")
	simDelay := fs.Duration("sim-delta-delay", durationEnv(getenv("COZE2APP_SIM_DELTA_DELAY"), 25*time.Millisecond), "demo simulator: pause between streamed deltas")
	simHostile := fs.Bool("sim-hostile", getenv("COZE2APP_SIM_HOSTILE") == "on", "demo simulator: hostile names and descriptions (for testing)")
	workflowIdle := fs.String("workflow-idle", env("COZE2APP_WORKFLOW_IDLE", "5m"), "end a workflow run whose stream sends nothing, not even a heartbeat, for this long")
	tlsCert := fs.String("tls-cert", env("COZE2APP_TLS_CERT", ""), "PEM certificate (chain) file: serve HTTPS and HTTP/2 on the listen address; re-read on SIGHUP")
	tlsKey := fs.String("tls-key", env("COZE2APP_TLS_KEY", ""), "PEM private key file of the TLS certificate")
	acmeDomains := fs.String("acme-domains", env("COZE2APP_ACME_DOMAINS", ""), "comma-separated domains to get certificates for from Let's Encrypt (ACME), instead of certificate files")
	acmeCache := fs.String("acme-cache", env("COZE2APP_ACME_CACHE", ""), "directory for ACME account and certificates (default: acme-certs beside the SQLite database)")
	acmeHTTPAddr := fs.String("acme-http-addr", env("COZE2APP_ACME_HTTP_ADDR", ":80"), "plain-HTTP listen address with ACME: answers the CA's challenge, redirects the rest to HTTPS")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, &HelpError{Usage: usage.String()}
		}
		return Config{}, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var errs []error
	secretFlags := secretsOnCommandLine(fs)
	if err := secretFromFile(clientSecret, *clientSecretFile, "COZE_CLIENT_SECRET"); err != nil {
		errs = append(errs, err)
	}
	if err := secretFromFile(secretKey, *secretKeyFile, "COZE2APP_SECRET_KEY"); err != nil {
		errs = append(errs, err)
	}

	c := Config{
		ClientID:      strings.TrimSpace(*clientID),
		ClientSecret:  Secret(strings.TrimSpace(*clientSecret)),
		RedirectURI:   *redirectURI,
		Region:        strings.ToLower(*region),
		APIBase:       strings.TrimRight(*apiBase, "/"),
		WWWBase:       strings.TrimRight(*wwwBase, "/"),
		Addr:          *addr,
		DatabaseURL:   *dbURL,
		SecretKey:     Secret(*secretKey),
		PublicURL:     strings.TrimRight(*publicURL, "/"),
		LogFormat:     strings.ToLower(*logFormat),
		SimDeltaDelay: *simDelay,
		SimHostile:    *simHostile,
		PKCE:          strings.ToLower(strings.TrimSpace(*pkce)),
		TLSCert:       strings.TrimSpace(*tlsCert),
		TLSKey:        strings.TrimSpace(*tlsKey),
		ACMECacheDir:  strings.TrimSpace(*acmeCache),
		ACMEHTTPAddr:  strings.TrimSpace(*acmeHTTPAddr),
		MetricsAddr:   strings.TrimSpace(*metricsAddr),
		DebugAddr:     strings.TrimSpace(*debugAddr),
		secretFlags:   secretFlags,
		DemoPublic:    getenv("COZE2APP_DEMO_PUBLIC") == "on",
	}
	for _, d := range strings.Split(*acmeDomains, ",") {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			c.ACMEDomains = append(c.ACMEDomains, d)
		}
	}
	errs = append(errs, c.checkTLS()...)
	if d, err := time.ParseDuration(strings.TrimSpace(*workflowIdle)); err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("COZE2APP_WORKFLOW_IDLE: %q is not a positive duration such as 5m", *workflowIdle))
	} else {
		c.WorkflowIdle = d
	}
	switch c.PKCE {
	case PKCEAuto, PKCEOn, PKCEOff:
	default:
		errs = append(errs, fmt.Errorf("COZE_PKCE: %q is not auto, on or off", *pkce))
	}
	switch strings.ToLower(*h2c) {
	case "on", "true", "1", "yes":
		c.APIH2C = true
	case "off", "false", "0", "no", "":
	default:
		errs = append(errs, fmt.Errorf("COZE_API_H2C: %q is not on or off", *h2c))
	}
	switch c.Region {
	case "cn":
		c.APIBase = or(c.APIBase, APIBaseCN)
		c.WWWBase = or(c.WWWBase, WWWBaseCN)
	case "com":
		c.APIBase = or(c.APIBase, APIBaseCOM)
		c.WWWBase = or(c.WWWBase, WWWBaseCOM)
	default:
		errs = append(errs, fmt.Errorf("COZE_REGION: %q is not cn or com", c.Region))
	}
	for name, v := range map[string]string{"COZE_API_BASE": c.APIBase, "COZE_WWW_BASE": c.WWWBase} {
		if v != "" && !isHTTPURL(v) {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", name, v))
		}
	}
	c.RedirectURISet = c.RedirectURI != ""
	if !c.RedirectURISet {
		c.RedirectURI = c.defaultOrigin() + "/callback"
	}
	if u, err := url.Parse(c.RedirectURI); err != nil || !isHTTPURL(c.RedirectURI) || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("COZE_REDIRECT_URI: %q must be an absolute http(s) URL without a fragment", c.RedirectURI))
	} else if c.PublicURL == "" {
		c.PublicURL = u.Scheme + "://" + u.Host
	}
	if c.PublicURL != "" && !isHTTPURL(c.PublicURL) {
		errs = append(errs, fmt.Errorf("COZE2APP_PUBLIC_URL: %q is not an http(s) origin", c.PublicURL))
	}
	if c.TLS() {
		// Browsers reach a TLS listener with https only; an http origin would
		// also turn off Secure cookies and HSTS.
		for name, v := range map[string]string{"COZE_REDIRECT_URI": c.RedirectURI, "COZE2APP_PUBLIC_URL": c.PublicURL} {
			if strings.HasPrefix(v, "http://") {
				errs = append(errs, fmt.Errorf("%s: %q must be https:// since coze2app serves HTTPS (COZE2APP_TLS_CERT or COZE2APP_ACME_DOMAINS)", name, v))
			}
		}
	}
	if c.ClientID == "" && c.ClientSecret != "" {
		errs = append(errs, errors.New("COZE_CLIENT_SECRET is set but COZE_CLIENT_ID is empty"))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("COZE2APP_ADDR: %q is not host:port", c.Addr))
	}
	if users, spaces, err := parseAllow(*allow); err != nil {
		errs = append(errs, fmt.Errorf("COZE2APP_ALLOW: %w", err))
	} else {
		c.AllowUsers, c.AllowWorkspaces = users, spaces
	}
	if ps, err := parsePrefixes(*trustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("COZE2APP_TRUSTED_PROXIES: %w", err))
	} else {
		c.TrustedProxies = ps
	}
	for _, l := range []struct {
		name string
		v    int
		to   *int
	}{
		{"COZE2APP_MAX_REPLIES_PER_USER", *maxReplies, &c.MaxRepliesPerUser},
		{"COZE2APP_MAX_UPLOADS_PER_USER", *maxUploads, &c.MaxUploadsPerUser},
		{"COZE2APP_CHATS_PER_MINUTE", *chatsPerMinute, &c.ChatsPerMinute},
	} {
		if l.v < 1 || l.v > 100_000 {
			errs = append(errs, fmt.Errorf("%s: %d is not between 1 and 100000", l.name, l.v))
		}
		*l.to = l.v
	}
	for _, a := range []struct{ name, addr string }{{"COZE2APP_METRICS_ADDR", c.MetricsAddr}, {"COZE2APP_DEBUG_ADDR", c.DebugAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); a.addr != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port", a.name, a.addr))
		}
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("COZE2APP_DATABASE_URL is empty"))
	}
	if c.Postgres() && c.SecretKey == "" {
		errs = append(errs, errors.New("COZE2APP_SECRET_KEY is required with PostgreSQL: every instance must share the key that encrypts tokens"))
	}
	if err := c.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("COZE2APP_LOG_LEVEL: %q is not debug, info, warn or error", *logLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("COZE2APP_LOG_FORMAT: %q is not text or json", c.LogFormat))
	}
	errs = append(errs, c.refusals()...)
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return c, nil
}

// checkTLS validates the HTTPS settings.
func (c Config) checkTLS() []error {
	var errs []error
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("COZE2APP_TLS_CERT and COZE2APP_TLS_KEY go together: set both or neither"))
	}
	if len(c.ACMEDomains) == 0 {
		return errs
	}
	if c.TLSCert != "" || c.TLSKey != "" {
		errs = append(errs, errors.New("COZE2APP_ACME_DOMAINS and COZE2APP_TLS_CERT/COZE2APP_TLS_KEY exclude each other: choose certificate files or ACME"))
	}
	for _, d := range c.ACMEDomains {
		if !isDomain(d) {
			errs = append(errs, fmt.Errorf("COZE2APP_ACME_DOMAINS: %q is not a domain name", d))
		}
	}
	if _, _, err := net.SplitHostPort(c.ACMEHTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("COZE2APP_ACME_HTTP_ADDR: %q is not host:port", c.ACMEHTTPAddr))
	}
	if c.ACMECacheDir == "" && c.Postgres() {
		errs = append(errs, errors.New("COZE2APP_ACME_CACHE is required with PostgreSQL: there is no database directory to keep certificates beside"))
	}
	return errs
}

// defaultOrigin is the origin assumed when neither the redirect URI nor the
// public URL is configured.
func (c Config) defaultOrigin() string {
	switch {
	case len(c.ACMEDomains) > 0:
		return "https://" + c.ACMEDomains[0]
	case c.TLS():
		return "https://localhost:5000"
	}
	return "http://localhost:5000"
}

// isDomain accepts a DNS name with at least two labels (what a public CA
// issues for), no port, scheme or wildcard.
func isDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func durationEnv(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
		return d
	}
	return def
}

// shownBase is a Coze host as the start-up log shows it: in demo mode the app never
// talks to Coze, so naming its real hosts would mislead (issue 10 item 13).
func (c Config) shownBase(base string) string {
	if c.Demo() {
		return "built-in simulator"
	}
	return base
}
