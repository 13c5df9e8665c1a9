// Package app is coze2app's composition root: it reads the configuration,
// opens the store, chooses real Coze or the built-in simulator, wires auth,
// chat and web together, serves HTTP and shuts down gracefully.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is set at build time with -ldflags "-X .../internal/app.Version=v1.2.3".
var Version = ""

// Run executes one coze2app command. args excludes the program name.
//
//	coze2app [serve] [flags]   the web app (default)
//	coze2app sim [flags]       the Coze simulator alone
//	coze2app healthcheck       GET /healthz on the serve address (container health check)
//	coze2app version
//
// Run returns when ctx is done (after a graceful shutdown) or on error.
// The serve command is Start followed by Server.Wait; tests that bind port
// 0 call Start and read the addresses from the Server it returns.
func Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "sim":
		return runSim(ctx, args, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stderr)
	case "version":
		_, err := fmt.Fprintf(stderr, "coze2app %s (%s)\n", version(), runtime.Version())
		return err
	case "help", "-h", "--help":
		_, err := fmt.Fprint(stderr, usage)
		return err
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage:
  coze2app [serve] [flags]   run the web app (coze2app serve -h lists the flags)
  coze2app sim [flags]       run the Coze simulator alone (coze2app sim -h)
  coze2app healthcheck       exit 0 if /healthz answers on COZE2APP_ADDR (takes the serve flags)
  coze2app version           print the version
`

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// newLogger builds the process logger.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
