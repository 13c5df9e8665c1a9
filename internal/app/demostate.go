package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store"
)

// demoState keeps the demo simulator's state in the app's database, so a
// restart keeps sign-ins, conversations, uploaded files and bots (issue 10
// item 5). The snapshot holds the simulator's own tokens, so it is sealed
// like Coze tokens are. It is restored before serving, saved a moment after
// each change (one goroutine, run) and once more at shutdown.
type demoState struct {
	sim    *cozesim.Sim
	store  *store.Store
	sealer *seal.Sealer
	log    *slog.Logger
	dirty  chan struct{} // one pending "changed" mark
}

const (
	// demoStateName is the app_state row.
	demoStateName = "demo.sim"
	// demoSaveDelay gathers the changes of a burst (a chat is several
	// requests) into one save.
	demoSaveDelay = time.Second
	// demoSaveTimeout bounds one save, the final one at shutdown included.
	demoSaveTimeout = 10 * time.Second
)

// demoStateAD binds the sealed snapshot to its row (the sealing context).
var demoStateAD = []byte("app_state/" + demoStateName)

func newDemoState() *demoState { return &demoState{dirty: make(chan struct{}, 1)} }

// changed is the simulator's OnChange: it marks the state dirty, never blocking.
func (d *demoState) changed() {
	select {
	case d.dirty <- struct{}{}:
	default:
	}
}

// restore loads the saved state into the simulator. None saved (a fresh
// database) means the demo data as seeded; a snapshot that cannot be opened
// or read (another key, another version) is logged and the demo starts fresh,
// as before this existed.
func (d *demoState) restore(ctx context.Context) {
	sealed, err := d.store.AppState(ctx, demoStateName)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err == nil {
		var plain []byte
		if plain, _, err = d.sealer.Open(sealed, demoStateAD); err == nil {
			err = d.sim.Restore(plain)
		}
	}
	if err != nil {
		d.log.Warn("demo: the saved simulator state could not be restored; starting from the demo data", "err", err)
		return
	}
	d.log.Info("demo: simulator state restored", "bytes", len(sealed))
}

// run saves after changes until ctx is done, then saves once more: by then
// the servers have drained, so that save holds everything.
func (d *demoState) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			d.saveNow(context.WithoutCancel(ctx))
			return
		case <-d.dirty:
		}
		select {
		case <-ctx.Done():
			d.saveNow(context.WithoutCancel(ctx))
			return
		case <-time.After(demoSaveDelay):
		}
		d.saveNow(ctx)
	}
}

// saveNow writes the sealed snapshot; a failure is logged (the next change or
// the shutdown tries again).
func (d *demoState) saveNow(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, demoSaveTimeout)
	defer cancel()
	if err := d.save(ctx); err != nil {
		d.log.Warn("demo: save simulator state", "err", err)
		d.changed()
	}
}

func (d *demoState) save(ctx context.Context) error {
	plain, err := d.sim.Snapshot()
	if err != nil {
		return err
	}
	sealed, err := d.sealer.Seal(plain, demoStateAD)
	if err != nil {
		return err
	}
	return d.store.PutAppState(ctx, demoStateName, sealed)
}
