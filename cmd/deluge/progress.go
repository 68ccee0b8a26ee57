package main

import (
	"fmt"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/progress"
)

// lineProgress draws a bar on stderr while a run goes on. It counts input
// lines handled (sent and answered, skipped, or rejected), so a resumed
// run's bar jumps over the lines already done. A nil *lineProgress draws
// nothing.
type lineProgress struct {
	bar     *progress.Bar
	console *console
	total   int
	start   time.Time
	// Lines handled, and of them those skipped (done in a previous run).
	done, skipped int
}

// newProgress returns a bar for total lines (-1 when unknown), or nil when
// stderr is not a terminal or --quiet is set.
func newProgress(u *ui, tty bool, total int) *lineProgress {
	if u.quiet || !tty {
		return nil
	}
	p := &lineProgress{console: u.console, total: total, start: time.Now()}
	p.bar = progress.NewBar(u.console.barWriter(), &progress.BarOptions{
		Label: "-",
		Unit:  "lines",
		Status: func(info llm.ProgressInfo) string {
			desc := fmt.Sprintf("ok %d", info.Succeeded)
			if info.Failed > 0 {
				desc += " " + u.paint(colorRed, fmt.Sprintf("failed %d", info.Failed))
			}
			if p.skipped > 0 {
				desc += fmt.Sprintf(" skipped %d", p.skipped)
			}
			return desc + " " + formatUSD(info.Cost)
		},
		Clear: true,
	})
	u.console.setBar(true)
	return p
}

// update advances the bar by n lines and shows the running totals. Callers
// serialise calls.
func (p *lineProgress) update(n int, s *summary) {
	if p == nil {
		return
	}
	p.done += n
	p.bar.Update(p.info(s, false))
}

// info is the bar's snapshot of the run: lines, not requests.
func (p *lineProgress) info(s *summary, final bool) llm.ProgressInfo {
	elapsed := time.Since(p.start)
	p.skipped = s.Skipped
	info := llm.ProgressInfo{
		Total:     p.total,
		Done:      p.done,
		Succeeded: s.Succeeded,
		Failed:    s.failedTotal(),
		Cost:      s.Cost,
		Elapsed:   elapsed,
		Final:     final,
	}
	if secs := elapsed.Seconds(); secs > 0 {
		info.RequestsPerSecond = float64(p.done) / secs
	}
	return info
}

// finish erases the bar.
func (p *lineProgress) finish(s *summary) {
	if p == nil {
		return
	}
	p.bar.Update(p.info(s, true))
	p.console.setBar(false)
}
