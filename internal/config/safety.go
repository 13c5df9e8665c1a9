package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Settings that work on a laptop but not on the open internet (issue 8 item
// 15). refusals are the ones that cannot be made safe, so Load fails on
// them; Warnings are the ones an operator may have good reasons for, so the
// app logs them at start-up.

// refusals returns the settings Load refuses.
func (c Config) refusals() []error {
	var errs []error
	if !c.Demo() && isPlainHTTP(c.APIBase) && !isLoopbackURL(c.APIBase) {
		errs = append(errs, fmt.Errorf("COZE_API_BASE: %q is http:// on a non-loopback host: the client secret and every user's tokens would cross the network in clear text; use https://", c.APIBase))
	}
	if !c.Demo() && c.PKCE == PKCEOff && c.ClientSecret == "" {
		errs = append(errs, errors.New("COZE_PKCE=off without COZE_CLIENT_SECRET: a public client without PKCE lets whoever intercepts the authorization code sign in as the user; keep PKCE on or use a web app with a client secret"))
	}
	if c.Demo() && !c.DemoPublic && !isLoopbackAddr(c.Addr) {
		errs = append(errs, fmt.Errorf("demo mode (no COZE_CLIENT_ID) on %q, a non-loopback address: anyone who reaches it can sign in as a demo user of the built-in simulator; listen on localhost, set COZE_CLIENT_ID, or set COZE2APP_DEMO_PUBLIC=on to mean it", c.Addr))
	}
	return errs
}

// Warnings lists unsafe but accepted settings, one sentence each, for the
// start-up log.
func (c Config) Warnings() []string {
	out := c.flagWarnings()
	if c.Demo() && c.DemoPublic && !isLoopbackAddr(c.Addr) {
		out = append(out, fmt.Sprintf("DEMO MODE IS PUBLIC on %q (COZE2APP_DEMO_PUBLIC=on): anyone who reaches it signs in as a demo user and talks to a fake Coze; never use it for real data", c.Addr))
	}
	if !c.Demo() && isPlainHTTP(c.WWWBase) && !isLoopbackURL(c.WWWBase) {
		out = append(out, fmt.Sprintf("COZE_WWW_BASE %q is http:// on a non-loopback host: the sign-in page and its authorization code travel in clear text", c.WWWBase))
	}
	if isPlainHTTP(c.PublicURL) && !isLoopbackURL(c.PublicURL) {
		out = append(out, fmt.Sprintf("COZE2APP_PUBLIC_URL %q is http:// on a non-loopback host: session cookies cannot be Secure and travel in clear text; put the app behind TLS and set an https:// public URL", c.PublicURL))
	}
	return out
}

func isPlainHTTP(u string) bool { return strings.HasPrefix(strings.ToLower(u), "http://") }

// isLoopbackURL reports whether u's host is localhost or a loopback address.
func isLoopbackURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && isLoopbackHost(p.Hostname())
}

// isLoopbackAddr reports whether a listen address host:port binds loopback only.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}

// isLoopbackHost reports whether host (no port) is localhost or a loopback IP.
// An empty host, as in ":5000", means every interface: not loopback.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parsePrefixes reads "10.0.0.0/8, 192.0.2.7, ::1" as prefixes; a bare
// address is a one-address prefix.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or an IP address", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// intEnv reads a whole number; anything unreadable is -1, which the range
// check in Load reports.
func intEnv(s string, def int) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// parseAllow reads COZE2APP_ALLOW: "user:ID" and "workspace:ID" entries,
// comma-separated; Coze ids are 1–30 digits.
func parseAllow(s string) (users, workspaces []string, err error) {
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kind, id, _ := strings.Cut(part, ":")
		id = strings.TrimSpace(id)
		if !isCozeID(id) {
			return nil, nil, fmt.Errorf("%q: want user:ID or workspace:ID with a Coze id of digits", part)
		}
		switch strings.ToLower(strings.TrimSpace(kind)) {
		case "user":
			users = append(users, id)
		case "workspace":
			workspaces = append(workspaces, id)
		default:
			return nil, nil, fmt.Errorf("%q: want user:ID or workspace:ID", part)
		}
	}
	return users, workspaces, nil
}

func isCozeID(s string) bool {
	if s == "" || len(s) > 30 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
