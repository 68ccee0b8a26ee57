package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLine(t *testing.T) {
	s := Snapshot{Total: 2000, Done: 1200, Failed: 3, InFlight: 12, Limiter: "rpm", Rate: 16.54, Cost: 0.01234, Elapsed: 72*time.Second + 300*time.Millisecond}
	assert.Equal(t, "deluge: 1200/2000 (60.0%) · 16.5 req/s · 12 in flight · 3 failed · limited by rpm · $0.0123 · 1m12s", Line(s))
	s = Snapshot{Total: -1, Done: 7, Cost: 12.5}
	assert.Equal(t, "deluge: 7 done · 0.0 req/s · 0 in flight · $12.50 · 0s", Line(s))
	assert.Contains(t, Line(Snapshot{Total: 0}), "0/0 (100.0%)")
}

func TestLogIsPeriodicAndQuietForShortRuns(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(&buf, 10*time.Second)
	l.Update(Snapshot{Done: 1, Elapsed: time.Second})
	l.Update(Snapshot{Done: 2, Elapsed: 9 * time.Second})
	l.Finish(Snapshot{Done: 3, Elapsed: 9 * time.Second})
	assert.Empty(t, buf.String(), "a run shorter than the interval prints nothing")

	l = NewLog(&buf, 10*time.Second)
	for _, sec := range []int{5, 10, 12, 19, 21} {
		l.Update(Snapshot{Done: sec, Total: -1, Elapsed: time.Duration(sec) * time.Second})
	}
	l.Finish(Snapshot{Done: 30, Total: -1, Elapsed: 22 * time.Second})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[0], "10 done")
	assert.Contains(t, lines[1], "21 done")
	assert.Contains(t, lines[2], "30 done", "a run that printed progress prints its end")
}

func TestFuncThrottles(t *testing.T) {
	var got []int
	f := NewFunc(func(s Snapshot) { got = append(got, s.Done) }, time.Second)
	for i, ms := range []int{100, 500, 1200, 1500, 2300} {
		f.Update(Snapshot{Done: i, Elapsed: time.Duration(ms) * time.Millisecond})
	}
	f.Finish(Snapshot{Done: 99})
	assert.Equal(t, []int{0, 2, 4, 99}, got)
}

func TestReporterFinishesWithLastSample(t *testing.T) {
	var (
		mu      sync.Mutex
		samples int
		final   Snapshot
	)
	r := Start(func() Snapshot {
		mu.Lock()
		defer mu.Unlock()
		samples++
		return Snapshot{Done: samples}
	}, Multi{NewFunc(func(s Snapshot) {
		mu.Lock()
		final = s
		mu.Unlock()
	}, 0)}, time.Millisecond)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return samples >= 3
	}, 5*time.Second, time.Millisecond)
	r.Stop()
	r.Stop() // idempotent
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, samples, final.Done, "Finish renders a fresh sample")
}

func TestBar(t *testing.T) {
	var buf bytes.Buffer
	b := NewBar(&buf, 10)
	b.Update(Snapshot{Total: 10, Done: 4, InFlight: 2, Limiter: "tpm"})
	b.Finish(Snapshot{Total: 10, Done: 10})
	out := buf.String()
	assert.Contains(t, out, "10/10")
	assert.Contains(t, out, "in flight")
	assert.False(t, IsTerminal(&buf))
}
