package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// runSim serves the Coze simulator alone, for trying a client written from
// the wire reference without a Coze account.
func runSim(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("coze2app sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7000", "listen address")
	clientID := fs.String("client-id", "20000000000000000000000000000002.app.coze", "client id of the OAuth app the simulator knows")
	clientSecret := fs.String("client-secret", "", "its client secret (empty: a PKCE public app)")
	redirectURI := fs.String("redirect-uri", "http://localhost:5000/callback", "its registered redirect URI")
	accessTTL := fs.Duration("access-ttl", 15*time.Minute, "access token lifetime")
	deltaDelay := fs.Duration("delta-delay", 25*time.Millisecond, "pause between streamed deltas")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := newLogger(stderr, slog.LevelInfo, "text")
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	base := "http://" + ln.Addr().String()
	sim := cozesim.New(cozesim.Options{
		PublicBase: base,
		Apps: []cozesim.App{{
			Name: "coze2app sim app", ClientID: *clientID, ClientSecret: *clientSecret,
			RedirectURIs: []string{*redirectURI},
		}},
		AccessTTL:  *accessTTL,
		DeltaDelay: *deltaDelay,
		ChatDelay:  time.Second,
		Logger:     log,
	})
	defer sim.Close()
	kind := "web app (send Authorization: Bearer <client_secret> to the token endpoint)"
	if *clientSecret == "" {
		kind = "PKCE public app (no secret)"
	}
	fmt.Fprintf(stderr, "coze2app Coze simulator\n  api base: %s\n  www base: %s\n  client_id: %s\n  app type: %s\n  redirect_uri: %s\n  access token lifetime: %s\n",
		base, base, *clientID, kind, *redirectURI, *accessTTL)
	for _, u := range sim.Users() {
		fmt.Fprintf(stderr, "  demo user: %s (%s)\n", u.NickName, u.ID)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	// Real Coze is reached over TLS, where Go negotiates HTTP/2; the
	// simulator offers unencrypted HTTP/2 (COZE_API_H2C=on) to match.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		<-errc
		return nil
	case err := <-errc:
		return err
	}
}
