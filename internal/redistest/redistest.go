// Package redistest runs a real Redis server for tests and benchmarks: the
// redis-server binary of the Debian package redis-server (or any
// redis-server ≥ 5 on PATH), started on a free loopback port with a
// temporary directory of its own, no persistence (save "", appendonly no),
// and stopped at the end.
//
// Tests call [New], which skips the test, naming the package to install,
// when redis-server is not on PATH; the benchmark program calls [Start].
// A Server can be killed and restarted on the same port ([Server.Kill],
// [Server.Restart]) to test what happens when Redis is lost mid-run.
package redistest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binary is the name of the server binary looked up on PATH.
const Binary = "redis-server"

// SkipMessage is what a test that needs Redis says when the binary is
// missing.
const SkipMessage = "redis-server not found on PATH: install the Debian package redis-server (sudo apt-get install -y redis-server) to run the tests that use a real Redis"

// startTimeout bounds the wait for a started server to answer.
const startTimeout = 20 * time.Second

// Options configure a server.
type Options struct {
	// Password, when set, is required of clients (requirepass).
	Password string
	// TLS, when set, makes the server speak TLS only, with this
	// certificate and key (PEM files); CAFile is the CA clients must trust.
	TLS *TLSFiles
	// Args are extra redis-server arguments ("--maxmemory", "10mb", …).
	Args []string
}

// TLSFiles are the PEM files of a TLS server.
type TLSFiles struct {
	CertFile, KeyFile, CAFile string
}

// Server is a running redis-server.
type Server struct {
	opts Options
	bin  string
	dir  string
	// Addr is the server's loopback address, host:port; it stays the same
	// across Restart.
	Addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs bytes.Buffer
}

// Available reports whether redis-server is on PATH.
func Available() bool {
	_, err := exec.LookPath(Binary)
	return err == nil
}

// New starts a server for the test and stops it when the test ends. It
// skips the test (with [SkipMessage]) when redis-server is not on PATH, and
// fails it when the server does not start.
func New(t testing.TB, opts ...Options) *Server {
	t.Helper()
	if !Available() {
		t.Skip(SkipMessage)
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	dir := t.TempDir()
	s, err := Start(dir, o)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Start starts a server with its files in dir (which must exist) on a free
// loopback port. The caller stops it with [Server.Stop].
func Start(dir string, o Options) (*Server, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		return nil, errors.New(SkipMessage)
	}
	s := &Server{opts: o, bin: bin, dir: dir}
	// The port is free when picked but could be taken before the server
	// binds it: try a few.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on s.Addr and waits until it answers.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--loglevel", "warning",
		"--logfile", "",
	}
	if t := s.opts.TLS; t != nil {
		args = append(args, "--port", "0", "--tls-port", port,
			"--tls-cert-file", t.CertFile, "--tls-key-file", t.KeyFile,
			"--tls-ca-cert-file", t.CAFile, "--tls-auth-clients", "no")
	} else {
		args = append(args, "--port", port)
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	args = append(args, s.opts.Args...)
	cmd := exec.Command(s.bin, args...)
	s.mu.Lock()
	s.logs.Reset()
	cmd.Stdout, cmd.Stderr = &s.logs, &s.logs
	s.mu.Unlock()
	// Its own process group: a test's SIGKILL of deluge children never
	// reaches it, and Stop reaches nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if err := s.waitReady(done); err != nil {
		cmd.Process.Kill()
		<-done
		return err
	}
	return nil
}

// waitReady pings the server until it answers PONG, it exits, or the
// start timeout passes.
func (s *Server) waitReady(exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// Wait for the port with plain dials first: a go-redis client would
	// log each refused dial on its global logger.
	for {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start: %s", s.Addr, s.Logs())
		default:
		}
		conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("redis-server on %s did not listen within %v: %v: %s", s.Addr, startTimeout, err, s.Logs())
		}
		time.Sleep(5 * time.Millisecond)
	}
	c := s.Client()
	defer c.Close()
	for {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start: %s", s.Addr, s.Logs())
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := c.Ping(pctx).Err()
		pcancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("redis-server on %s did not answer within %v: %v: %s", s.Addr, startTimeout, err, s.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Logs returns what the server printed (warnings and errors).
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// URL returns the server's URL: redis://127.0.0.1:port/0, or rediss://
// for a TLS server, with the password when one is required.
func (s *Server) URL() string {
	scheme := "redis"
	if s.opts.TLS != nil {
		scheme = "rediss"
	}
	user := ""
	if s.opts.Password != "" {
		user = ":" + s.opts.Password + "@"
	}
	return scheme + "://" + user + s.Addr + "/0"
}

// Client returns a new go-redis client for the server (trusting its CA
// when it speaks TLS). The caller closes it.
func (s *Server) Client() *redis.Client {
	o := &redis.Options{Addr: s.Addr, Password: s.opts.Password, DialTimeout: time.Second, MaxRetries: -1, DialerRetries: 1}
	if s.opts.TLS != nil {
		o.TLSConfig = s.tlsConfig()
	}
	return redis.NewClient(o)
}

func (s *Server) tlsConfig() *tls.Config {
	pool, err := loadCA(s.opts.TLS.CAFile)
	if err != nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Kill stops the server at once (SIGKILL), as a crash or a lost host
// would; its data is lost (there is no persistence). Restart starts it
// again on the same address.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Restart starts a killed or stopped server again on the same address,
// empty.
func (s *Server) Restart() error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return errors.New("redistest: Restart of a running server")
	}
	// The port may linger briefly after the kill: retry for a while.
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it.
// It may be called more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Dir returns the server's directory.
func (s *Server) Dir() string { return s.dir }

// WriteFile writes data to name in the server's directory and returns the
// path (for TLS files, say).
func WriteFile(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, data, 0o600)
}
