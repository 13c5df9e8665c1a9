package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store/storetest"
)

// TestBus: two stores on one PostgreSQL schema hear each other's messages on
// their topic only, their own included; a store on another schema hears
// nothing; SQLite has no bus.
func TestBus(t *testing.T) {
	url := storetest.PostgresURL(t)
	a, b := storetest.MustOpen(t, url), storetest.MustOpen(t, url)
	other := storetest.OpenPostgres(t)
	ctx := t.Context()
	busA, err := a.OpenBus(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busA.Close()
	busB, err := b.OpenBus(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busB.Close()
	busO, err := other.OpenBus(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busO.Close()

	heard := make(chan string, 10)
	hear := func(who string) func(string) { return func(msg string) { heard <- who + " " + msg } }
	stopA := busA.Subscribe("cancel", hear("A"))
	defer stopA()
	stopB := busB.Subscribe("cancel", hear("B"))
	defer busB.Subscribe("reply", hear("B reply"))()
	defer busO.Subscribe("cancel", hear("other"))()

	if err := busA.Publish(ctx, "cancel", "7 chat:1"); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range 2 {
		select {
		case m := <-heard:
			got[m] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("heard only %v", got)
		}
	}
	if !got["A 7 chat:1"] || !got["B 7 chat:1"] {
		t.Errorf("heard %v, want A and B to hear 7 chat:1", got)
	}
	// Each listener gets messages in commit order: once the last one arrived,
	// anything wrongly delivered before it is in heard too.
	stopB()
	for _, p := range []struct {
		bus interface {
			Publish(context.Context, string, string) error
		}
		topic, msg string
	}{
		{busA, "cancel", "y"}, {busB, "reply", "chat:2"}, {busO, "cancel", "o"},
	} {
		if err := p.bus.Publish(ctx, p.topic, p.msg); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{"A y": true, "B reply chat:2": true, "other o": true}
	got = map[string]bool{}
	for len(got) < len(want) {
		select {
		case m := <-heard:
			got[m] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("heard only %v", got)
		}
	}
	for len(heard) > 0 {
		got[<-heard] = true
	}
	if len(got) != len(want) || !got["A y"] || !got["B reply chat:2"] || !got["other o"] {
		t.Errorf("heard %v, want %v (B left cancel; the other schema hears only its own)", got, want)
	}

	if bus, err := storetest.OpenSQLite(t).OpenBus(ctx, nil); bus != nil || err != nil {
		t.Errorf("SQLite OpenBus = %v, %v; want nil, nil", bus, err)
	}
}

// TestBusReconnects: when the listening connection dies, the bus says why,
// opens another, tells its subscribers that messages may have been lost
// (msg ""), and hears what is published afterwards.
func TestBusReconnects(t *testing.T) {
	url := storetest.PostgresURL(t)
	s := storetest.MustOpen(t, url+"&application_name=coze2app_bus_reconnect")
	ctx := t.Context()
	lost := make(chan error, 10)
	bus, err := s.OpenBus(ctx, func(err error) { lost <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	heard := make(chan string, 10)
	defer bus.Subscribe("cancel", func(msg string) { heard <- msg })()

	admin := storetest.MustOpen(t, url)
	var n int
	if err := admin.DB().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'coze2app_bus_reconnect' AND query LIKE 'LISTEN %'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminated %d listening connections (%v), want 1", n, err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the lost connection was not reported")
	}
	wait := func(what string) string {
		t.Helper()
		select {
		case m := <-heard:
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("nothing heard; want %s", what)
		}
		return ""
	}
	if m := wait(`"" after the reconnect`); m != "" {
		t.Fatalf("after the reconnect heard %q, want \"\"", m)
	}
	if err := bus.Publish(ctx, "cancel", "after"); err != nil {
		t.Fatal(err)
	}
	if m := wait("the message published after the reconnect"); m != "after" {
		t.Errorf("heard %q, want after", m)
	}
}
