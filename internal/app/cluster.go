package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/store"
)

// Several instances on one PostgreSQL database act as one (issue 13): a reply
// started on one can be followed, resumed and stopped on any other, through
// the store's reply_events and a LISTEN/NOTIFY bus (chat/cluster.go). With
// SQLite there is one instance and no bus.

// openBus returns the bus chat shares replies on, and its closer: nil and a
// no-op with SQLite.
func openBus(ctx context.Context, st *store.Store, log *slog.Logger) (chat.Bus, func(), error) {
	b, err := st.OpenBus(ctx, func(err error) {
		log.Warn("listening for the other instances: connection lost, reconnecting", "err", err)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listen for the other instances: %w", err)
	}
	if b == nil {
		return nil, func() {}, nil
	}
	return b, b.Close, nil
}

// handOver makes a draining instance of a cluster refuse new connections and
// close its idle ones at once, so the proxy sends every new request — above
// all the reconnects of the streams it is about to end — to another instance,
// while this one finishes the replies in flight and writes their events.
// The requests already being served go on.
func handOver(ln net.Listener, srv *http.Server) {
	_ = ln.Close()
	srv.SetKeepAlivesEnabled(false)
}
