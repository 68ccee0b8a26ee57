package redistest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/redistest"
)

func TestServerAnswersAndRestarts(t *testing.T) {
	s := redistest.New(t)
	ctx := context.Background()
	c := s.Client()
	defer c.Close()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	s.Kill()
	require.Error(t, c.Ping(ctx).Err(), "a killed server does not answer")
	require.NoError(t, s.Restart())
	require.NoError(t, c.Ping(ctx).Err())
	n, err := c.Exists(ctx, "k").Result()
	require.NoError(t, err)
	require.Zero(t, n, "a restarted server is empty: no persistence")
}

func TestPasswordAndTLS(t *testing.T) {
	files, err := redistest.NewTLSFiles(t.TempDir())
	require.NoError(t, err)
	s := redistest.New(t, redistest.Options{Password: "s3cret", TLS: files})
	c := s.Client()
	defer c.Close()
	require.NoError(t, c.Ping(context.Background()).Err())
	require.Contains(t, s.URL(), "rediss://:s3cret@127.0.0.1:")
}
