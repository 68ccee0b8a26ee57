package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Snapshot is the state of a batch at one moment.
type Snapshot struct {
	// Total is the number of items, or < 0 when unknown.
	Total     int
	Done      int
	Succeeded int
	Failed    int
	InFlight  int
	// Limiter names what holds dispatch back ("rpm", "tpm", "concurrency",
	// "cooldown"), or "".
	Limiter string
	// Rate is the recent completion rate per second.
	Rate float64
	Cost float64
	// Tokens of the replies received so far.
	InputTokens, OutputTokens, CachedInputTokens, ReasoningTokens int
	Elapsed                                                       time.Duration
}

// Renderer draws snapshots. Update is called periodically from one
// goroutine, Finish once at the end.
type Renderer interface {
	Update(Snapshot)
	Finish(Snapshot)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Status formats the details shared by the bar and the log line:
// "12 in flight · limited by rpm · $0.0123".
func Status(s Snapshot) string {
	parts := []string{fmt.Sprintf("%d in flight", s.InFlight)}
	if s.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", s.Failed))
	}
	if s.Limiter != "" {
		parts = append(parts, "limited by "+s.Limiter)
	}
	parts = append(parts, formatCost(s.Cost))
	return strings.Join(parts, " · ")
}

func formatCost(c float64) string {
	if c < 1 {
		return fmt.Sprintf("$%.4f", c)
	}
	return fmt.Sprintf("$%.2f", c)
}

// Bar draws a progress bar (a spinner when the total is unknown).
type Bar struct {
	bar *progressbar.ProgressBar
}

// NewBar returns a Bar writing to w.
func NewBar(w io.Writer, total int) *Bar {
	max := int64(total)
	if total < 0 {
		max = -1
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("deluge"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("req"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return &Bar{bar: bar}
}

// Update implements Renderer.
func (b *Bar) Update(s Snapshot) {
	b.bar.Describe(Status(s))
	_ = b.bar.Set64(int64(s.Done))
}

// Finish implements Renderer.
func (b *Bar) Finish(s Snapshot) {
	b.Update(s)
	_ = b.bar.Finish()
}

// Log writes a plain line at most once per interval, for outputs that are
// not terminals. A batch that ends before the first line is due prints
// nothing, so short runs (and tests) stay quiet; a batch that printed
// progress also prints its final state.
type Log struct {
	w       io.Writer
	every   time.Duration
	last    time.Duration
	printed bool
}

// NewLog returns a Log writing to w every interval.
func NewLog(w io.Writer, every time.Duration) *Log { return &Log{w: w, every: every} }

// Update implements Renderer.
func (l *Log) Update(s Snapshot) {
	if s.Elapsed-l.last < l.every {
		return
	}
	l.last = s.Elapsed
	l.printed = true
	fmt.Fprintln(l.w, Line(s))
}

// Finish implements Renderer.
func (l *Log) Finish(s Snapshot) {
	if l.printed {
		fmt.Fprintln(l.w, Line(s))
	}
}

// Line formats a snapshot as one plain line:
//
//	deluge: 1200/2000 (60.0%) · 16.5 req/s · 12 in flight · limited by rpm · $0.0123 · 1m12s
func Line(s Snapshot) string {
	var b strings.Builder
	b.WriteString("deluge: ")
	if s.Total >= 0 {
		pct := 100.0
		if s.Total > 0 {
			pct = 100 * float64(s.Done) / float64(s.Total)
		}
		fmt.Fprintf(&b, "%d/%d (%.1f%%)", s.Done, s.Total, pct)
	} else {
		fmt.Fprintf(&b, "%d done", s.Done)
	}
	fmt.Fprintf(&b, " · %.1f req/s · %s · %s", s.Rate, Status(s), s.Elapsed.Round(time.Second))
	return b.String()
}

// Reporter samples a batch periodically and renders it from its own
// goroutine until Stop.
type Reporter struct {
	sample func() Snapshot
	render Renderer
	every  time.Duration
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// Start begins reporting: render.Update(sample()) every interval, and
// render.Finish with a last sample when Stop is called.
func Start(sample func() Snapshot, render Renderer, every time.Duration) *Reporter {
	r := &Reporter{sample: sample, render: render, every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *Reporter) loop() {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.render.Update(r.sample())
		case <-r.stop:
			r.render.Finish(r.sample())
			return
		}
	}
}

// Stop renders the final snapshot and waits for the reporter to finish. It
// is safe to call more than once.
func (r *Reporter) Stop() {
	r.once.Do(func() { close(r.stop) })
	<-r.done
}

// Func adapts a function to a Renderer: it is called at most once per
// interval while the batch runs, and once with the final snapshot.
type Func struct {
	f     func(Snapshot)
	every time.Duration
	last  time.Duration
	seen  bool
}

// NewFunc returns a Func calling f at most every interval.
func NewFunc(f func(Snapshot), every time.Duration) *Func { return &Func{f: f, every: every} }

// Update implements Renderer.
func (f *Func) Update(s Snapshot) {
	if f.seen && s.Elapsed-f.last < f.every {
		return
	}
	f.seen, f.last = true, s.Elapsed
	f.f(s)
}

// Finish implements Renderer.
func (f *Func) Finish(s Snapshot) { f.f(s) }

// Multi renders to several renderers.
type Multi []Renderer

// Update implements Renderer.
func (m Multi) Update(s Snapshot) {
	for _, r := range m {
		r.Update(s)
	}
}

// Finish implements Renderer.
func (m Multi) Finish(s Snapshot) {
	for _, r := range m {
		r.Finish(s)
	}
}
