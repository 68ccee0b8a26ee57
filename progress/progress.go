package progress

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deluge-go/deluge/llm"
)

// BarInterval is the [llm.WithProgressInterval] that makes a bar move
// smoothly: five redraws a second.
const BarInterval = 200 * time.Millisecond

// LogInterval is the interval of the lines [Auto] writes when its writer
// is not a terminal.
const LogInterval = 10 * time.Second

// Auto returns a function for [llm.WithProgressFunc] that draws a [Bar] on
// w when w is a terminal and writes a [Log] line every [LogInterval]
// otherwise.
func Auto(w io.Writer) func(llm.ProgressInfo) {
	if IsTerminal(w) {
		return NewBar(w, nil).Update
	}
	return NewLog(w, LogInterval).Update
}

// IsTerminal reports whether w is a file open on a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f != nil && isTerminal(f.Fd())
}

// Status formats the details shared by the bar and the log line:
// "12 in flight · 3 failed · limited by rpm · $0.0123", and, when 429s
// persisted and a model is paced at the rate the server was found to
// allow, that rate next to the configured one: "server allows 6,000/7,800
// rpm".
func Status(info llm.ProgressInfo) string {
	parts := []string{fmt.Sprintf("%d in flight", info.InFlight)}
	if info.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", info.Failed))
	}
	if info.Limiter != "" {
		parts = append(parts, "limited by "+info.Limiter)
	}
	for _, p := range info.Pace {
		if s := PaceStatus(p); s != "" {
			if len(info.Pace) > 1 {
				s = p.Model + ": " + s
			}
			parts = append(parts, s)
		}
	}
	parts = append(parts, FormatCost(info.Cost))
	return strings.Join(parts, " · ")
}

// PaceStatus says what the server was found to allow when it is less than
// the configured pace ("server allows 6,000/7,800 rpm"), "" otherwise.
func PaceStatus(p llm.Pace) string {
	var parts []string
	if f := p.Found.RequestsPerMinute; f > 0 {
		parts = append(parts, groupDigits(f)+"/"+groupDigits(p.Configured.RequestsPerMinute)+" rpm")
	}
	if f := p.Found.TokensPerMinute; f > 0 {
		parts = append(parts, groupDigits(f)+"/"+groupDigits(p.Configured.TokensPerMinute)+" tpm")
	}
	if len(parts) == 0 {
		return ""
	}
	return "server allows " + strings.Join(parts, ", ")
}

// groupDigits writes n with thousands separators: 7800 → "7,800".
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// FormatCost formats a cost in USD: four decimals under a dollar, two
// above.
func FormatCost(c float64) string {
	if c < 1 {
		return fmt.Sprintf("$%.4f", c)
	}
	return fmt.Sprintf("$%.2f", c)
}

// Line formats a snapshot as one plain line:
//
//	deluge: 1200/2000 (60.0%) · 16.5 req/s · 12 in flight · limited by rpm · $0.0123 · 1m12s
//	deluge: 1200/2000 (60.0%) · 100.0 req/s · 5 in flight · limited by rpm · server allows 6,000/7,800 rpm · $0.0123 · 12s
func Line(info llm.ProgressInfo) string {
	var b strings.Builder
	b.WriteString("deluge: ")
	if info.Total >= 0 {
		pct := 100.0
		if info.Total > 0 {
			pct = 100 * float64(info.Done) / float64(info.Total)
		}
		fmt.Fprintf(&b, "%d/%d (%.1f%%)", info.Done, info.Total, pct)
	} else {
		fmt.Fprintf(&b, "%d done", info.Done)
	}
	fmt.Fprintf(&b, " · %.1f req/s · %s · %s", info.RequestsPerSecond, Status(info), info.Elapsed.Round(time.Second))
	return b.String()
}

// Log writes a plain [Line] at most once per interval, for outputs that
// are not terminals. A batch that ends before the first line is due
// prints nothing, so short runs (and tests) stay quiet; a batch that
// printed progress also prints its final state. Its Update method is safe
// for concurrent use.
type Log struct {
	w     io.Writer
	every time.Duration

	mu      sync.Mutex
	last    time.Duration
	printed bool
}

// NewLog returns a Log writing to w every interval.
func NewLog(w io.Writer, every time.Duration) *Log { return &Log{w: w, every: every} }

// Update writes info when a line is due, or when info is the final one of
// a batch that printed progress. Pass it to [llm.WithProgressFunc].
func (l *Log) Update(info llm.ProgressInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if info.Final {
		if l.printed {
			fmt.Fprintln(l.w, Line(info))
		}
		l.last, l.printed = 0, false // the next batch starts afresh
		return
	}
	if info.Elapsed-l.last < l.every {
		return
	}
	l.last, l.printed = info.Elapsed, true
	fmt.Fprintln(l.w, Line(info))
}
