package web

import (
	"net"
	"net/http"
	"strings"
)

var errWrongHost = fail(http.StatusMisdirectedRequest, "wrong_host")

// checkHost answers 421 unless the Host header names the public URL's host or
// a loopback name (issue 8 item 13). A page on an attacker's domain that
// re-resolves to 127.0.0.1 (DNS rebinding) still sends its own name as Host,
// so it cannot read an install on localhost. Loopback names stay allowed for
// local use and for a reverse proxy on the same machine that rewrites Host.
// The health probes are exempt: orchestrators call them by pod address.
func (s *Server) checkHost(next http.Handler) http.Handler {
	public := normalHost(s.public.Host, s.public.Scheme)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/healthz" || p == "/readyz" || hostAllowed(r.Host, public, s.public.Scheme) {
			next.ServeHTTP(w, r)
			return
		}
		s.d.Log.WarnContext(r.Context(), "request for a foreign host refused",
			"request_id", requestIDFrom(r.Context()), "host", clip(r.Host), "path", clip(p))
		writeError(w, r, errWrongHost)
	})
}

func hostAllowed(host, public, scheme string) bool {
	if host == "" {
		return false
	}
	if public != "" && normalHost(host, scheme) == public {
		return true
	}
	return isLoopbackHost(host)
}

// normalHost lower-cases host[:port], drops a trailing dot and the scheme's
// default port, so "App.Example.:443" and "app.example" compare equal for https.
func normalHost(hostport, scheme string) string {
	h := strings.ToLower(hostport)
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		host, port = strings.Trim(h, "[]"), ""
	}
	host = strings.TrimSuffix(host, ".")
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if port == "" {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}
