package redisconn_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/redisconn"
	"github.com/deluge-go/deluge/internal/redistest"
)

const secret = "Pa55-w0rd-SECRET"

// noSecret fails the test if err's message shows the password.
func noSecret(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret, "the password is never shown")
	assert.NotContains(t, err.Error(), "w0rd")
}

func TestBadURLs(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"", "empty Redis URL"},
		{"localhost:6379", "not a Redis URL"},
		{"http://:" + secret + "@localhost:6379", `the scheme is "http"`},
		{"redis://:" + secret + "@localhost:6379/x", "invalid database number"},
		{"redis://:" + secret + "@localhost:6379/0?bogus=1", "unexpected option"},
		{"redis://:" + secret + "@local host:6379", "not a Redis URL"},
		{"redis://user:" + secret + "%zz@localhost", "not a Redis URL"},
		{"redis://:" + secret + "@localhost:port", "not a Redis URL"},
		{"redis:///0", "no host"},
	} {
		_, err := redisconn.Open(context.Background(), c.url)
		noSecret(t, err)
		assert.Contains(t, err.Error(), c.want, "%s", err)
		assert.NotErrorIs(t, err, redisconn.ErrUnreachable)
	}
}

func TestRedact(t *testing.T) {
	assert.Equal(t, "redis://:xxxxx@h:1/0", redisconn.Redact("redis://:"+secret+"@h:1/0"))
	assert.Equal(t, "rediss://u:xxxxx@h:1", redisconn.Redact("rediss://u:"+secret+"@h:1"))
	assert.Equal(t, "redis://…", redisconn.Redact("redis://:"+secret+"@local host:1"))
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	c, err := redisconn.Open(context.Background(), "redis://:"+secret+"@"+addr+"/0")
	noSecret(t, err)
	require.ErrorIs(t, err, redisconn.ErrUnreachable)
	assert.Contains(t, err.Error(), "is redis-server running")
	require.NotNil(t, c, "an unreachable Redis still yields a client, for --redis-optional")
	c.Close()
}

func TestCredentials(t *testing.T) {
	srv := redistest.New(t, redistest.Options{Password: secret})
	ctx := context.Background()

	c, err := redisconn.Open(ctx, srv.URL())
	require.NoError(t, err)
	c.Close()

	_, err = redisconn.Open(ctx, "redis://:not-"+secret+"@"+srv.Addr+"/0")
	noSecret(t, err)
	assert.Contains(t, err.Error(), "refused the user and password")
	assert.NotErrorIs(t, err, redisconn.ErrUnreachable)

	_, err = redisconn.Open(ctx, "redis://"+srv.Addr+"/0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "requires a password")
}

func TestTLS(t *testing.T) {
	files, err := redistest.NewTLSFiles(t.TempDir())
	require.NoError(t, err)
	tlsSrv := redistest.New(t, redistest.Options{Password: secret, TLS: files})
	plain := redistest.New(t)
	ctx := context.Background()

	// The test CA is not trusted by this process (a deluge process told
	// SSL_CERT_FILE=CA connects: see cmd/deluge's TestE2ERedisTLS).
	_, err = redisconn.Open(ctx, tlsSrv.URL())
	noSecret(t, err)
	assert.Contains(t, err.Error(), "authority this host does not trust")

	// rediss:// to a plain port, redis:// to a TLS port.
	_, err = redisconn.Open(ctx, "rediss://:"+secret+"@"+plain.Addr+"/0")
	noSecret(t, err)
	assert.Contains(t, err.Error(), "does the server speak TLS")
	_, err = redisconn.Open(ctx, "redis://:"+secret+"@"+tlsSrv.Addr+"/0")
	noSecret(t, err)
	assert.True(t, strings.Contains(err.Error(), "use rediss://"), "%s", err)
}
