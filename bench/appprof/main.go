// Command appprof is coze2app with net/http/pprof on a second, loopback-only
// listener (COZE2APP_BENCH_PPROF=127.0.0.1:PORT), so the streams benchmark
// can take heap profiles. It runs exactly app.Run, like cmd/coze2app.
package main

import (
	"context"
	"fmt"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
	"os/signal"
	"syscall"

	"github.com/coze2app/coze2app/internal/app"
)

func main() {
	if addr := os.Getenv("COZE2APP_BENCH_PPROF"); addr != "" {
		go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, nil)) }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
