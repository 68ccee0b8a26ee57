package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

// sample is the cost of one contender's operations in one round.
type sample struct {
	nsPerOp     float64 // wall time
	cpuNsPerOp  float64 // CPU time of the whole process (user + system)
	bytesPerOp  float64
	allocsPerOp float64
	extraPerOp  float64 // the mean of what op returns (e.g. time to first token)
}

// A contender is one client doing one operation, for interleave.
type contender struct {
	name string
	// op does one operation and may return a figure to average (ns).
	op func() (float64, error)
	// n is the number of operations in a slice (set by interleave).
	n int
}

// interleave measures contenders against each other on a noisy machine.
// Each of rounds rounds is made of slices: in a slice every contender runs
// for about slice (a few milliseconds), in an order that rotates from
// slice to slice, so that all contenders see the same machine, whatever
// the neighbours do. A round's figure for a contender is its total time
// over its total operations in that round (a mean, so the garbage
// collector's work is charged to whoever allocates); callers take medians
// over rounds, and medians of per-round ratios between contenders. The
// heap counters come from runtime.MemStats, read once before and once
// after each slice, outside the timed section.
func interleave(ctx context.Context, cs []*contender, rounds, slicesPerRound int, slice time.Duration) ([][]sample, error) {
	for _, c := range cs {
		op := func() error { _, err := c.op(); return err }
		n, err := calibrate(max(200*time.Millisecond, 20*slice), slice, op)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		c.n = n
	}
	out := make([][]sample, len(cs))
	order := make([]int, len(cs))
	for i := range order {
		order[i] = i
	}
	type total struct {
		ops              int
		wall, cpu, extra float64
		bytes, allocs    uint64
	}
	var before, after runtime.MemStats
	runtime.GC()
	for r := range rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tot := make([]total, len(cs))
		for sl := range slicesPerRound {
			for _, i := range rotate(order, r*slicesPerRound+sl) {
				c := cs[i]
				runtime.ReadMemStats(&before)
				cpu0 := cpuTime()
				start := time.Now()
				extra := 0.0
				for range c.n {
					x, err := c.op()
					if err != nil {
						return nil, fmt.Errorf("%s: %w", c.name, err)
					}
					extra += x
				}
				wall := time.Since(start)
				cpu := cpuTime() - cpu0
				runtime.ReadMemStats(&after)
				t := &tot[i]
				t.ops += c.n
				t.wall += float64(wall)
				t.cpu += float64(cpu)
				t.extra += extra
				t.bytes += after.TotalAlloc - before.TotalAlloc
				t.allocs += after.Mallocs - before.Mallocs
			}
		}
		for i, t := range tot {
			n := float64(t.ops)
			out[i] = append(out[i], sample{
				nsPerOp: t.wall / n, cpuNsPerOp: t.cpu / n, extraPerOp: t.extra / n,
				bytesPerOp: float64(t.bytes) / n, allocsPerOp: float64(t.allocs) / n,
			})
		}
	}
	return out, nil
}

// calibrate returns how many operations fill about budget, after running
// op for about warm (which also warms connections and pools).
func calibrate(warm, budget time.Duration, op func() error) (int, error) {
	n, start := 0, time.Now()
	for time.Since(start) < warm || n < 10 {
		if err := op(); err != nil {
			return 0, err
		}
		n++
	}
	per := time.Since(start) / time.Duration(n)
	return max(int(budget/max(per, 1)), 1), nil
}

func column(xs []sample, f func(sample) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func wallOf(s sample) float64   { return s.nsPerOp }
func cpuOf(s sample) float64    { return s.cpuNsPerOp }
func bytesOf(s sample) float64  { return s.bytesPerOp }
func allocsOf(s sample) float64 { return s.allocsPerOp }
func extraOf(s sample) float64  { return s.extraPerOp }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// percentile returns the p-th percentile (0–100) of xs by the
// nearest-rank method; xs must be sorted.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank-1, 0), len(sorted)-1)]
}

// ratios returns a[i]/b[i] for paired samples.
func ratios(a, b []float64) []float64 {
	out := make([]float64, min(len(a), len(b)))
	for i := range out {
		out[i] = a[i] / b[i]
	}
	return out
}

// diffs returns a[i]-b[i] for paired samples.
func diffs(a, b []float64) []float64 {
	out := make([]float64, min(len(a), len(b)))
	for i := range out {
		out[i] = a[i] - b[i]
	}
	return out
}

// rotate returns xs rotated left by k, so that interleaved rounds change
// which contender goes first.
func rotate[T any](xs []T, k int) []T {
	if len(xs) == 0 {
		return xs
	}
	k %= len(xs)
	return append(slices.Clone(xs[k:]), xs[:k]...)
}

// round2 rounds to 2 decimals, round3 to 3, for readable JSON.
func round2(x float64) float64 { return math.Round(x*100) / 100 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
func round1(x float64) float64 { return math.Round(x*10) / 10 }
