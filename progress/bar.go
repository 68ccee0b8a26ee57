package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/deluge-go/deluge/llm"
)

// BarOptions configure a [Bar]; the zero value (or nil) gives the defaults.
type BarOptions struct {
	// Label starts the line ("deluge" by default; "-" for none).
	Label string
	// Unit names what is counted, in the rate ("req" by default:
	// "16.5 req/s").
	Unit string
	// Status formats the details after the counts; nil means [Status].
	Status func(llm.ProgressInfo) string
	// Width is the bar's width in cells (30 by default).
	Width int
	// Every is the least time between two redraws (100 ms by default), so
	// that a caller may update the bar after every item; the final
	// snapshot is always drawn.
	Every time.Duration
	// Clear erases the bar when the batch ends, instead of leaving its
	// final state on a line of its own.
	Clear bool
}

// Bar draws a one-line progress bar, redrawn in place:
//
//	deluge  60% |██████████████████            | 1200/2000 · 16.5 req/s · 12 in flight · limited by rpm · $0.0123 · 1m12s, ETA 48s
//
// With an unknown total (-1) it shows a spinner and the count instead of
// the bar. A line longer than the terminal is wide wraps, and the redraw
// then leaves the wrapped part behind: keep Status short. Its Update
// method is safe for concurrent use, but batches that run at the same
// time share the line.
type Bar struct {
	w    io.Writer
	opts BarOptions

	mu    sync.Mutex
	drawn time.Time // when the line was last drawn; zero before the first
	spin  int
	buf   strings.Builder
}

// NewBar returns a Bar drawing on w.
func NewBar(w io.Writer, opts *BarOptions) *Bar {
	b := &Bar{w: w}
	if opts != nil {
		b.opts = *opts
	}
	if b.opts.Label == "" {
		b.opts.Label = "deluge"
	} else if b.opts.Label == "-" {
		b.opts.Label = ""
	}
	if b.opts.Unit == "" {
		b.opts.Unit = "req"
	}
	if b.opts.Status == nil {
		b.opts.Status = Status
	}
	if b.opts.Width <= 0 {
		b.opts.Width = 30
	}
	if b.opts.Every <= 0 {
		b.opts.Every = 100 * time.Millisecond
	}
	return b
}

// spinner is drawn in place of the bar when the total is unknown.
var spinner = [...]string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Update redraws the bar for info, at most once per Every unless info is
// final; the final snapshot ends the line (or erases it, with Clear), and
// the next Update starts a new bar. Pass it to [llm.WithProgressFunc].
func (b *Bar) Update(info llm.ProgressInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if !info.Final && !b.drawn.IsZero() && now.Sub(b.drawn) < b.opts.Every {
		return
	}
	b.drawn = now
	b.buf.Reset()
	b.buf.WriteString("\r")
	b.render(&b.buf, info)
	b.buf.WriteString("\x1b[K") // erase what a longer previous line left
	if info.Final {
		if b.opts.Clear {
			b.buf.WriteString("\r\x1b[K")
		} else {
			b.buf.WriteString("\n")
		}
		b.drawn = time.Time{}
	}
	io.WriteString(b.w, b.buf.String())
}

// render writes the line for info, without the carriage return.
func (b *Bar) render(w *strings.Builder, info llm.ProgressInfo) {
	if b.opts.Label != "" {
		w.WriteString(b.opts.Label)
		w.WriteString(" ")
	}
	if info.Total >= 0 {
		frac := 1.0
		if info.Total > 0 {
			frac = min(max(float64(info.Done)/float64(info.Total), 0), 1)
		}
		full := int(frac * float64(b.opts.Width))
		fmt.Fprintf(w, "%3d%% |%s%s| %d/%d", int(frac*100), strings.Repeat("█", full), strings.Repeat(" ", b.opts.Width-full), info.Done, info.Total)
	} else {
		b.spin = (b.spin + 1) % len(spinner)
		fmt.Fprintf(w, "%s %d", spinner[b.spin], info.Done)
	}
	fmt.Fprintf(w, " · %.1f %s/s", info.RequestsPerSecond, b.opts.Unit)
	if s := b.opts.Status(info); s != "" {
		w.WriteString(" · ")
		w.WriteString(s)
	}
	w.WriteString(" · ")
	w.WriteString(info.Elapsed.Round(time.Second).String())
	if !info.Final && info.Total > 0 && info.Done < info.Total && info.RequestsPerSecond > 0 {
		eta := time.Duration(float64(info.Total-info.Done) / info.RequestsPerSecond * float64(time.Second))
		w.WriteString(", ETA ")
		w.WriteString(eta.Round(time.Second).String())
	}
}
