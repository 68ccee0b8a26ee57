package workpool

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccounting(t *testing.T) {
	spawned := 0
	p := New(4, 5)
	p.spawn = func() { spawned++ }
	for range 10 {
		p.start(p.limit)
	}
	assert.Equal(t, 4, spawned, "never more than limit workers without a wait")
	assert.False(t, p.retire())

	p.Idle() // a job backs off: one extra worker takes its place
	assert.Equal(t, 5, spawned)
	p.Idle() // another: the pool is at max
	assert.Equal(t, 5, spawned)
	assert.False(t, p.retire(), "busy: 3 of 4")

	p.Resume()
	p.Resume() // both waits over: 5 busy, one more than the limit
	assert.True(t, p.retire(), "the first worker to finish a job retires")
	assert.False(t, p.retire())
	assert.EqualValues(t, 4, p.alive.Load())
	assert.EqualValues(t, 4, p.busy.Load())

	for range 4 {
		p.exit()
	}
	assert.Zero(t, p.alive.Load())
	assert.Zero(t, p.busy.Load())
}

// jobs returns a next function handing out 0..n-1.
func jobs(n int) func() (int, bool) {
	var i atomic.Int64
	return func() (int, bool) {
		j := int(i.Add(1) - 1)
		return j, j < n
	}
}

func TestRunRunsEveryJobOnce(t *testing.T) {
	const n = 1000
	var (
		mu   sync.Mutex
		seen = map[int]int{}
	)
	p := New(8, 10)
	Run(p, jobs(n), func(j int) bool {
		mu.Lock()
		seen[j]++
		mu.Unlock()
		return true
	})
	require.Len(t, seen, n)
	for j, c := range seen {
		require.Equal(t, 1, c, "job %d", j)
	}
	assert.Zero(t, p.alive.Load(), "every worker exited")
	assert.Zero(t, p.busy.Load())
}

func TestRunStartsWorkersLazily(t *testing.T) {
	var most atomic.Int64
	p := New(64, 80)
	Run(p, jobs(3), func(int) bool {
		storeMax(&most, p.alive.Load())
		return true
	})
	assert.LessOrEqual(t, most.Load(), int64(4), "three jobs start at most one worker per job, plus the first")
}

func TestRunStopsWhenDoSaysSo(t *testing.T) {
	var ran atomic.Int64
	p := New(1, 1)
	Run(p, jobs(100), func(j int) bool {
		ran.Add(1)
		return j < 9
	})
	assert.EqualValues(t, 10, ran.Load(), "no job is taken after do returned false")
}

func TestRunKeepsLimitBusyWhileJobsWait(t *testing.T) {
	for _, lend := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			const limit = 4
			var (
				inWork, most atomic.Int64
				waiting      atomic.Bool
			)
			p := New(limit, limit+limit/4)
			Run(p, jobs(100), func(j int) bool {
				if j == 2*limit { // once the pool has ramped up
					// A job that waits without a slot lends its place.
					if lend {
						p.Idle()
						defer p.Resume()
					}
					waiting.Store(true)
					time.Sleep(time.Second)
					waiting.Store(false)
					return true
				}
				n := inWork.Add(1)
				if waiting.Load() {
					storeMax(&most, n)
				}
				time.Sleep(10 * time.Millisecond)
				inWork.Add(-1)
				return true
			})
			if lend {
				assert.EqualValues(t, limit, most.Load(), "a waiting job's place was taken by another worker")
			} else {
				assert.EqualValues(t, limit-1, most.Load(), "a job that does not lend its place holds it")
			}
			assert.Zero(t, p.alive.Load())
		})
	}
}

// storeMax raises m to v.
func storeMax(m *atomic.Int64, v int64) {
	for {
		cur := m.Load()
		if v <= cur || m.CompareAndSwap(cur, v) {
			return
		}
	}
}
