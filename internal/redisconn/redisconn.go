// Package redisconn opens a go-redis client from a Redis URL for the CLI,
// the benchmark program and tests, with errors that say what to fix and
// never show the password: a URL that is not one, credentials Redis
// refuses, a TLS mismatch, a server that does not answer.
package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnreachable is wrapped by Open's error when Redis does not answer (no
// server at the address, a timeout): the client it returns may still be
// used, and reaches Redis once it is up. Other errors mean the
// configuration is wrong.
var ErrUnreachable = errors.New("Redis is unreachable")

// Defaults set on the client unless the URL's query sets them
// (dial_timeout=, read_timeout=, max_retries=, …).
const (
	DialTimeout  = 2 * time.Second
	ReadTimeout  = time.Second
	WriteTimeout = time.Second
)

// Usage is the form of a Redis URL, for error messages and help.
const Usage = "redis://[[user]:password@]host[:port][/db] (rediss:// for TLS)"

// Redact returns rawURL with its password replaced by "xxxxx", for
// messages; a URL that does not parse comes back as its scheme alone.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		if i := strings.Index(rawURL, "://"); i > 0 && i < 10 {
			return rawURL[:i+3] + "…"
		}
		return "the URL"
	}
	return u.Redacted()
}

// scrubber removes the secrets of a URL from messages: the password (and
// the whole user-info part) as written in it.
type scrubber []string

func newScrubber(rawURL string) scrubber {
	var s scrubber
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		if end := strings.IndexAny(rest, "/?#"); end >= 0 {
			rest = rest[:end]
		}
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			info := rest[:at]
			if _, pw, ok := strings.Cut(info, ":"); ok && pw != "" {
				s = append(s, pw)
				if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
					s = append(s, dec)
				}
			}
		}
	}
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			s = append(s, pw)
		}
	}
	return s
}

func (s scrubber) clean(msg string) string {
	for _, secret := range s {
		if len(secret) > 0 {
			msg = strings.ReplaceAll(msg, secret, "xxxxx")
		}
	}
	return msg
}

// scrubbedError is an error whose message has had the URL's secrets
// removed; it unwraps to what it wraps, for errors.Is.
type scrubbedError struct {
	msg  string
	kind error // ErrUnreachable or nil
	err  error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.err}
}

// Options parses a Redis URL into go-redis options, with the package's
// defaults for what the URL leaves out. Its errors show no secret.
func Options(rawURL string) (*redis.Options, error) {
	sc := newScrubber(rawURL)
	fail := func(err error) error {
		msg := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			msg = ue.Err.Error() // url.Error quotes the whole URL
		}
		return &scrubbedError{msg: sc.clean(fmt.Sprintf("%s is not a Redis URL: %s (want %s)", Redact(rawURL), msg, Usage)), err: err}
	}
	if strings.TrimSpace(rawURL) == "" {
		return nil, fmt.Errorf("empty Redis URL (want %s)", Usage)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fail(err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		return nil, fail(fmt.Errorf("the scheme is %q", u.Scheme))
	}
	if u.Scheme != "unix" && u.Host == "" {
		return nil, fail(errors.New("no host"))
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fail(err)
	}
	q := u.Query()
	if !q.Has("dial_timeout") {
		o.DialTimeout = DialTimeout
	}
	if !q.Has("read_timeout") {
		o.ReadTimeout = ReadTimeout
	}
	if !q.Has("write_timeout") {
		o.WriteTimeout = WriteTimeout
	}
	if !q.Has("max_retries") {
		o.MaxRetries = 1 // one retry: a pooled connection broken by a restart
	}
	o.DialerRetries = 1
	o.ContextTimeoutEnabled = true
	return o, nil
}

// Open parses rawURL, connects and checks that Redis answers (PING). On
// success it returns the client, which the caller closes. When Redis does
// not answer, it returns the client and an error wrapping
// [ErrUnreachable]; on any other error, no client.
func Open(ctx context.Context, rawURL string) (*redis.Client, error) {
	o, err := Options(rawURL)
	if err != nil {
		return nil, err
	}
	c := redis.NewClient(o)
	if err := Check(ctx, c, rawURL); err != nil {
		if errors.Is(err, ErrUnreachable) {
			return c, err
		}
		c.Close()
		return nil, err
	}
	return c, nil
}

// Check pings Redis through c and explains a failure in terms of rawURL
// (which it never shows with its password).
func Check(ctx context.Context, c *redis.Client, rawURL string) error {
	pctx, cancel := context.WithTimeout(ctx, c.Options().DialTimeout+c.Options().ReadTimeout)
	defer cancel()
	err := c.Ping(pctx).Err()
	if err == nil {
		return nil
	}
	return explain(err, rawURL, c.Options())
}

func explain(err error, rawURL string, o *redis.Options) error {
	sc := newScrubber(rawURL)
	where := "Redis at " + o.Addr
	tlsOn := o.TLSConfig != nil
	msg := err.Error()
	var (
		hint string
		kind error
		uae  x509.UnknownAuthorityError
		hne  x509.HostnameError
		cie  x509.CertificateInvalidError
		rhe  tls.RecordHeaderError
		ne   net.Error
	)
	switch {
	case strings.HasPrefix(msg, "WRONGPASS") || strings.Contains(msg, "invalid password") || strings.Contains(msg, "invalid username-password"):
		hint = "it refused the user and password in the URL: check them"
	case strings.HasPrefix(msg, "NOAUTH") || strings.Contains(msg, "Authentication required"):
		hint = "it requires a password: give it in the URL, redis://:PASSWORD@host:port/db"
	case errors.As(err, &uae):
		hint = "its TLS certificate is signed by an authority this host does not trust: install the CA, or point SSL_CERT_FILE at it"
	case errors.As(err, &hne), errors.As(err, &cie):
		hint = "its TLS certificate does not fit: " + err.Error()
	case errors.As(err, &rhe) || (tlsOn && strings.Contains(msg, "tls:")):
		hint = "the TLS handshake failed: does the server speak TLS on this port? rediss:// needs a TLS port; use redis:// for a plain one"
	case strings.Contains(msg, "NOPERM"):
		hint = "the user lacks a permission deluge needs (EVALSHA, EVAL, SCRIPT, HSET, ZADD…): grant them"
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused"):
		hint, kind = "nothing listens there: is redis-server running, and is the address right?", ErrUnreachable
	case !tlsOn && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || strings.Contains(msg, "connection reset")):
		hint = "it closed the connection: if the server speaks TLS, use rediss://"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		hint, kind = "it did not answer in time: is the address right, and is a firewall in the way?", ErrUnreachable
		if tlsOn {
			hint = "it did not answer in time: does the server speak TLS on this port? rediss:// needs a TLS port; use redis:// for a plain one"
		}
	default:
		var oe *net.OpError
		if errors.As(err, &oe) {
			kind = ErrUnreachable
		}
	}
	text := where + ": " + msg
	if hint != "" {
		text += " (" + hint + ")"
	}
	return &scrubbedError{msg: sc.clean(text), kind: kind, err: err}
}

// slogLogger routes go-redis's own log lines to slog at debug level.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(ctx context.Context, format string, v ...any) {
	s.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// RouteLogs sends go-redis's log lines (it prints dial failures to
// standard error by default) to l at debug level. go-redis's logger is
// global: call it once, from a program's main path.
func RouteLogs(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	redis.SetLogger(slogLogger{l})
}
