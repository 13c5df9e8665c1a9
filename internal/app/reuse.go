package app

import (
	"errors"
	"net"
	"sync"
)

// reuseListener is the main plain-HTTP listener with a way back in. A stream relay
// takes its HTTP/1.1 connection over from net/http (chat.Service.Relay); when the
// stream ends with a complete response it hands the connection back here, and the
// server accepts it again, so the browser's keep-alive connection carries its next
// request as if net/http had never let it go. One goroutine moves the listener's own
// connections to Accept; Close waits for it.
type reuseListener struct {
	net.Listener
	conns chan accepted
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

type accepted struct {
	c   net.Conn
	err error
}

func newReuseListener(ln net.Listener) *reuseListener {
	l := &reuseListener{Listener: ln, conns: make(chan accepted), done: make(chan struct{})}
	l.wg.Go(l.pump)
	return l
}

func (l *reuseListener) pump() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.conns <- accepted{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Accept returns the next new or handed-back connection.
func (l *reuseListener) Accept() (net.Conn, error) {
	select {
	case a := <-l.conns:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Reuse hands c back to be served as a connection of its own; false once the listener
// is closed (the server stops or drains: the caller closes c).
func (l *reuseListener) Reuse(c net.Conn) bool {
	select {
	case l.conns <- accepted{c: c}:
		return true
	case <-l.done:
		return false
	}
}

// Close closes the listener; handed-back connections are refused from then on.
func (l *reuseListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.done) })
	l.wg.Wait()
	return err
}
