// Package memnet serves HTTP in memory, for tests that run under
// testing/synctest.
//
// In a synctest bubble the fake clock moves only when every goroutine of
// the bubble is durably blocked, and a goroutine waiting on a socket is
// not: a test whose client and server talk over loopback TCP would never
// see its timers fire. Over [net.Pipe] connections they block on
// channels, which are durable, so a bubble can run a paced batch of
// thousands of requests, with real HTTP on both sides, in fake time.
package memnet

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// Server is an [http.Server] reached through in-memory connections. Create
// it in the bubble that uses it, and Close it there.
type Server struct {
	// URL is the server's base URL. Its host is a loopback address (so
	// that providers accept plain HTTP, as for a local emulator), but the
	// client's connections never reach the network, whatever the URL.
	URL string

	srv    *http.Server
	ln     *listener
	tr     *http.Transport
	served chan struct{}
}

// NewServer starts serving h.
func NewServer(h http.Handler) *Server {
	ln := &listener{conns: make(chan net.Conn), done: make(chan struct{})}
	s := &Server{
		URL:    "http://127.0.0.1",
		srv:    &http.Server{Handler: h},
		ln:     ln,
		served: make(chan struct{}),
		tr: &http.Transport{
			DialContext:         ln.dial,
			MaxIdleConnsPerHost: 1024,
		},
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s
}

// Client returns an HTTP client whose requests reach the server.
func (s *Server) Client() *http.Client { return &http.Client{Transport: s.tr} }

// Close stops the server, closing its connections, and the client's idle
// connections, and waits for the server's loop to end.
func (s *Server) Close() {
	_ = s.srv.Close()
	s.tr.CloseIdleConnections()
	<-s.served
}

// listener hands the server end of each dialled pipe to Accept.
type listener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *listener) Addr() net.Addr { return addr{} }

// dial connects a client to the server: one end of a new pipe is the
// client's connection, the other is accepted by the server.
func (l *listener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("memnet: server closed")
}

type addr struct{}

func (addr) Network() string { return "memnet" }
func (addr) String() string  { return "memnet" }
