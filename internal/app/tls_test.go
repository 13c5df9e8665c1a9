package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/config"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost.
type testCert struct {
	certFile, keyFile string
	leaf              *x509.Certificate
}

// writeSelfSigned makes a certificate with the given serial and writes the
// PEM pair into dir (replacing any previous one).
func writeSelfSigned(t *testing.T, dir string, serial int64) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "coze2app test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), leaf: leaf}
	// Written beside and renamed, as certbot and friends do, so a reload
	// never sees half a file.
	for path, block := range map[string]*pem.Block{
		c.certFile: {Type: "CERTIFICATE", Bytes: der},
		c.keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// tlsBrowser trusts the given certificates and speaks HTTP/2 when offered.
func tlsBrowser(t *testing.T, certs ...*x509.Certificate) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport:     tr,
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// servedSerial is the serial of the certificate the server presents now.
func servedSerial(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // we only read the leaf
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func tlsDemoEnv(t *testing.T, c testCert) map[string]string {
	return map[string]string{
		"COZE2APP_ADDR":            "127.0.0.1:0",
		"COZE2APP_DATABASE_URL":    "sqlite:" + t.TempDir() + "/coze2app.db",
		"COZE2APP_SIM_DELTA_DELAY": "0s",
		"COZE2APP_TLS_CERT":        c.certFile,
		"COZE2APP_TLS_KEY":         c.keyFile,
	}
}

// With a certificate and key, coze2app speaks HTTPS and HTTP/2 on its
// address; the public URL becomes https, so cookies are Secure and HSTS is
// sent; the demo signs in and chats over it.
func TestTLSServesHTTP2(t *testing.T) {
	cert := writeSelfSigned(t, t.TempDir(), 1001)
	a := mustStart(t, tlsDemoEnv(t, cert))
	if !strings.HasPrefix(a.URL, "https://") {
		t.Fatalf("listening URL = %q, want https", a.URL)
	}
	c := tlsBrowser(t, cert.leaf)

	res, err := c.Get(a.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.ProtoMajor != 2 {
		t.Errorf("/healthz = %d over %s, want 200 over HTTP/2", res.StatusCode, res.Proto)
	}
	if hsts := res.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q, want HSTS over TLS", hsts)
	}

	res, err = c.Get(a.URL + "/auth")
	if err != nil {
		t.Fatalf("GET /auth: %v", err)
	}
	res.Body.Close()
	cookies := res.Header.Values("Set-Cookie")
	if len(cookies) == 0 {
		t.Fatal("/auth set no cookie")
	}
	for _, ck := range cookies {
		if !strings.HasPrefix(ck, "__Host-") || !strings.Contains(ck, "; Secure") {
			t.Errorf("cookie %q, want __Host- and Secure over TLS", ck)
		}
	}

	signIn(t, c, a.URL, "7391000000000000101")
	var ans chatAnswer
	if code := postJSON(t, c, a.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello"}, &ans); code != 200 || ans.Answer == "" {
		t.Fatalf("chat over TLS = %d %+v, want 200 with an answer", code, ans)
	}
	if err := a.stop(t); err != nil {
		t.Fatalf("Run returned %v after shutdown, want nil", err)
	}
	if strings.Contains(a.log.String(), "level=ERROR") {
		t.Errorf("log has errors:\n%s", a.log)
	}
}

// SIGHUP re-reads the certificate files: a renewed certificate is served to
// new connections without a restart; a broken file keeps the previous one.
func TestTLSCertificateReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	first := writeSelfSigned(t, dir, 2001)
	a := mustStart(t, tlsDemoEnv(t, first))
	addr := strings.TrimPrefix(a.URL, "https://")
	if got := servedSerial(t, addr); got != "2001" {
		t.Fatalf("served serial = %s, want 2001", got)
	}

	writeSelfSigned(t, dir, 2002)
	hangUp(t, a, "serial=2002")
	if got := servedSerial(t, addr); got != "2002" {
		t.Errorf("served serial after SIGHUP = %s, want 2002", got)
	}
	c := tlsBrowser(t, first.leaf) // trusts only the old certificate
	if _, err := c.Get(a.URL + "/healthz"); err == nil {
		t.Error("a client trusting only the old certificate still connects after reload")
	}

	// A broken renewal: the error is logged, the last good certificate stays.
	if err := os.WriteFile(first.certFile, []byte("-----BEGIN CERTIFICATE-----\nnot a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hangUp(t, a, "TLS certificate reload failed")
	if got := servedSerial(t, addr); got != "2002" {
		t.Errorf("served serial after a failed reload = %s, want 2002 kept", got)
	}
}

// Bad certificate files stop startup with an error naming them.
func TestTLSBadFilesStopStartup(t *testing.T) {
	dir := t.TempDir()
	good := writeSelfSigned(t, dir, 3001)
	other := writeSelfSigned(t, t.TempDir(), 3002)
	tests := []struct {
		name, cert, key, want string
	}{
		{"missing certificate", filepath.Join(dir, "absent.pem"), good.keyFile, "absent.pem"},
		{"key of another certificate", good.certFile, other.keyFile, "private key does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tlsDemoEnv(t, good)
			env["COZE2APP_TLS_CERT"], env["COZE2APP_TLS_KEY"] = tt.cert, tt.key
			err := Run(t.Context(), nil, func(k string) string { return env[k] }, &lineWriter{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// With ACME, coze2app builds a certificate manager (h2 and the tls-alpn-01
// challenge on the HTTPS listener) and a plain-HTTP listener that hands the
// CA's challenge path to the manager and redirects everything else to the
// HTTPS public URL. No CA is reachable here: issuance itself is autocert's.
func TestACMEWiring(t *testing.T) {
	cache := t.TempDir()
	env := map[string]string{
		"COZE2APP_ADDR":           "127.0.0.1:0",
		"COZE2APP_DATABASE_URL":   "sqlite:" + t.TempDir() + "/coze2app.db",
		"COZE2APP_ACME_DOMAINS":   "chat.example.com",
		"COZE2APP_ACME_CACHE":     cache,
		"COZE2APP_ACME_HTTP_ADDR": "127.0.0.1:0",
		"COZE2APP_PUBLIC_URL":     "https://chat.example.com:8443",
	}
	cfg := mustConfig(t, env)
	h, err := newHTTPS(cfg)
	if err != nil || h == nil || h.acme == nil {
		t.Fatalf("newHTTPS = %+v, %v; want an ACME manager", h, err)
	}
	if protos := strings.Join(h.tlsConfig.NextProtos, ","); !strings.Contains(protos, "h2") || !strings.Contains(protos, "acme-tls/1") {
		t.Errorf("NextProtos = %q, want h2 and acme-tls/1", protos)
	}

	a := mustStart(t, env)
	if !strings.HasPrefix(a.URL, "https://") {
		t.Errorf("listening URL = %q, want https", a.URL)
	}
	plain := a.ACMEURL
	if plain == "" || !strings.Contains(a.log.String(), "http_addr="+strings.TrimPrefix(plain, "http://")) {
		t.Fatalf("ACME URL %q not on the handle or not logged:\n%s", plain, a.log)
	}
	// A challenge answer as the manager stores it while a CA validates.
	if err := os.WriteFile(filepath.Join(cache, "tok123+http-01"), []byte("tok123.keyauth"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newBrowser(t)
	do := func(method, host, path string) (*http.Response, string) {
		req, _ := http.NewRequest(method, plain+path, nil)
		req.Host = host
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	if res, body := do("GET", "chat.example.com", "/.well-known/acme-challenge/tok123"); res.StatusCode != 200 || body != "tok123.keyauth" {
		t.Errorf("challenge = %d %q, want 200 with the key authorization", res.StatusCode, body)
	}
	if res, _ := do("GET", "evil.example.net", "/.well-known/acme-challenge/tok123"); res.StatusCode != http.StatusForbidden {
		t.Errorf("challenge for a host not configured = %d, want 403", res.StatusCode)
	}
	res, _ := do("GET", "evil.example.net", "/c/123?x=1")
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusMovedPermanently || loc != "https://chat.example.com:8443/c/123?x=1" {
		t.Errorf("plain HTTP GET = %d Location %q, want 301 to the public URL", res.StatusCode, loc)
	}
	res, body := do("POST", "chat.example.com", "/api/chat")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"code":"https_required"`) {
		t.Errorf("plain HTTP POST = %d %s, want a 400 https_required JSON error", res.StatusCode, body)
	}
	if err := a.stop(t); err != nil {
		t.Fatalf("Run returned %v after shutdown, want nil", err)
	}
}

// hangUp sends this process SIGHUP and waits until the app logs logged. The
// app registered for SIGHUP before Start returned, so the signal cannot take
// its default action (exit) on the test process.
func hangUp(t *testing.T, a *runningApp, logged string) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(20*time.Second, func() bool { return strings.Contains(a.log.String(), logged) }) {
		t.Fatalf("%q not logged after SIGHUP:\n%s", logged, a.log)
	}
}

func mustConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// ACME's cache sits beside the SQLite database unless configured.
func TestACMECacheBesideDatabase(t *testing.T) {
	cfg := mustConfig(t, map[string]string{
		"COZE2APP_ACME_DOMAINS": "chat.example.com",
		"COZE2APP_DATABASE_URL": "sqlite:/data/coze2app.db",
	})
	if got := acmeCacheDir(cfg); got != "/data/acme-certs" {
		t.Errorf("acmeCacheDir = %q, want /data/acme-certs", got)
	}
}

// Without certificate files SIGHUP is still taken (a `systemctl reload` or a
// stray hangup must not stop the server, the signal's default action).
func TestSIGHUPWithoutTLSKeepsServing(t *testing.T) {
	a := mustStart(t, map[string]string{
		"COZE2APP_ADDR":         "127.0.0.1:0",
		"COZE2APP_DATABASE_URL": "sqlite:" + t.TempDir() + "/coze2app.db",
	})
	hangUp(t, a, "no TLS certificate files to reload")
	if code := getJSON(t, newBrowser(t), a.URL+"/healthz", nil); code != 200 {
		t.Errorf("/healthz after SIGHUP = %d, want 200", code)
	}
	if err := a.stop(t); err != nil {
		t.Fatalf("Run returned %v after shutdown, want nil", err)
	}
}
