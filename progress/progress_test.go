package progress_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/progress"
)

func TestLine(t *testing.T) {
	s := llm.ProgressInfo{Total: 2000, Done: 1200, Failed: 3, InFlight: 12, Limiter: "rpm", RequestsPerSecond: 16.54, Cost: 0.01234, Elapsed: 72*time.Second + 300*time.Millisecond}
	assert.Equal(t, "deluge: 1200/2000 (60.0%) · 16.5 req/s · 12 in flight · 3 failed · limited by rpm · $0.0123 · 1m12s", progress.Line(s))
	s = llm.ProgressInfo{Total: -1, Done: 7, Cost: 12.5}
	assert.Equal(t, "deluge: 7 done · 0.0 req/s · 0 in flight · $12.50 · 0s", progress.Line(s))
	assert.Contains(t, progress.Line(llm.ProgressInfo{Total: 0}), "0/0 (100.0%)")
}

func TestLineShowsWhatTheServerAllows(t *testing.T) {
	at := llm.Pace{Model: "azure-gpt-4o", Configured: llm.Limits{RequestsPerMinute: 7800, TokensPerMinute: 1_300_000}}
	lowered := at
	lowered.Found.RequestsPerMinute = 6000
	s := llm.ProgressInfo{Total: 2000, Done: 1200, InFlight: 5, Limiter: "rpm", RequestsPerSecond: 100, Elapsed: 12 * time.Second, Pace: []llm.Pace{lowered}}
	assert.Equal(t, "deluge: 1200/2000 (60.0%) · 100.0 req/s · 5 in flight · limited by rpm · server allows 6,000/7,800 rpm · $0.0000 · 12s", progress.Line(s))
	s.Pace = []llm.Pace{at}
	assert.NotContains(t, progress.Line(s), "server allows", "not lowered: nothing to say")
	lowered.Found.TokensPerMinute = 1_000_000
	s.Pace = []llm.Pace{at, lowered}
	assert.Contains(t, progress.Line(s), "azure-gpt-4o: server allows 6,000/7,800 rpm, 1,000,000/1,300,000 tpm")
}

func TestLogIsPeriodicAndQuietForShortRuns(t *testing.T) {
	var buf bytes.Buffer
	l := progress.NewLog(&buf, 10*time.Second)
	l.Update(llm.ProgressInfo{Done: 1, Elapsed: time.Second})
	l.Update(llm.ProgressInfo{Done: 2, Elapsed: 9 * time.Second})
	l.Update(llm.ProgressInfo{Done: 3, Elapsed: 9 * time.Second, Final: true})
	assert.Empty(t, buf.String(), "a run shorter than the interval prints nothing")

	for _, sec := range []int{5, 10, 12, 19, 21} {
		l.Update(llm.ProgressInfo{Done: sec, Total: -1, Elapsed: time.Duration(sec) * time.Second})
	}
	l.Update(llm.ProgressInfo{Done: 30, Total: -1, Elapsed: 22 * time.Second, Final: true})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3, "the previous batch's end started this one afresh")
	assert.Contains(t, lines[0], "10 done")
	assert.Contains(t, lines[1], "21 done")
	assert.Contains(t, lines[2], "30 done", "a run that printed progress prints its end")
}

func TestBarKnownTotal(t *testing.T) {
	var buf bytes.Buffer
	b := progress.NewBar(&buf, &progress.BarOptions{Width: 10})
	b.Update(llm.ProgressInfo{Total: 10, Done: 4, InFlight: 2, Limiter: "tpm", RequestsPerSecond: 2, Elapsed: 2 * time.Second})
	out := buf.String()
	assert.Equal(t, "\rdeluge  40% |████      | 4/10 · 2.0 req/s · 2 in flight · limited by tpm · $0.0000 · 2s, ETA 3s\x1b[K", out)

	buf.Reset()
	b.Update(llm.ProgressInfo{Total: 10, Done: 10, RequestsPerSecond: 2, Elapsed: 5 * time.Second, Final: true})
	assert.Equal(t, "\rdeluge 100% |██████████| 10/10 · 2.0 req/s · 0 in flight · $0.0000 · 5s\x1b[K\n", buf.String(),
		"the final state is drawn at once and keeps its line")
}

func TestBarUnknownTotalAndOptions(t *testing.T) {
	var buf bytes.Buffer
	b := progress.NewBar(&buf, &progress.BarOptions{
		Label:  "-",
		Unit:   "lines",
		Status: func(i llm.ProgressInfo) string { return "ok " + string(rune('0'+i.Succeeded)) },
		Clear:  true,
	})
	b.Update(llm.ProgressInfo{Total: -1, Done: 3, Succeeded: 3})
	assert.Regexp(t, `^\r. 3 · 0\.0 lines/s · ok 3 · 0s\x1b\[K$`, buf.String())
	buf.Reset()
	b.Update(llm.ProgressInfo{Total: -1, Done: 5, Succeeded: 5, Final: true})
	assert.True(t, strings.HasSuffix(buf.String(), "\r\x1b[K"), "Clear erases the line: %q", buf.String())
}

func TestBarThrottles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		b := progress.NewBar(&buf, &progress.BarOptions{Every: time.Second})
		draws := func() int { return strings.Count(buf.String(), "\r") }
		for i := range 10 {
			b.Update(llm.ProgressInfo{Total: 100, Done: i})
		}
		assert.Equal(t, 1, draws(), "updates within Every of a draw are skipped")
		time.Sleep(time.Second)
		b.Update(llm.ProgressInfo{Total: 100, Done: 50})
		assert.Equal(t, 2, draws())
		b.Update(llm.ProgressInfo{Total: 100, Done: 100, Final: true})
		assert.Equal(t, 3, draws(), "the final snapshot is always drawn")
		b.Update(llm.ProgressInfo{Total: 100, Done: 1})
		assert.Equal(t, 4, draws(), "a new batch draws at once")
	})
}

func TestAutoAndIsTerminal(t *testing.T) {
	var buf bytes.Buffer
	assert.False(t, progress.IsTerminal(&buf))
	f, err := os.CreateTemp(t.TempDir(), "log")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, progress.IsTerminal(f), "a regular file is not a terminal")

	// Not a terminal: Auto writes log lines, every LogInterval.
	update := progress.Auto(&buf)
	update(llm.ProgressInfo{Total: 5, Done: 1, Elapsed: time.Second})
	assert.Empty(t, buf.String())
	update(llm.ProgressInfo{Total: 5, Done: 2, Elapsed: progress.LogInterval})
	assert.Equal(t, "deluge: 2/5 (40.0%) · 0.0 req/s · 0 in flight · $0.0000 · 10s\n", buf.String())
}
