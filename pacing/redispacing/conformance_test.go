package redispacing_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/redistest"
	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/pacing/pacingtest"
	"github.com/deluge-go/deluge/pacing/redispacing"
)

// TestConformance runs the pacing kit against a real redis-server, on the
// kit's fake clock (WithClock sends its time with each call).
func TestConformance(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	t.Cleanup(func() { rdb.Close() })
	pacingtest.Run(t, func(t *testing.T, clock func() time.Time) pacing.Limiter {
		l, err := redispacing.New(context.Background(), rdb, redispacing.WithClock(clock))
		require.NoError(t, err)
		t.Cleanup(func() { l.Close() })
		return l
	})
}
