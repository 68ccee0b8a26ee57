package main

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress draws a bar on stderr while a run goes on. It counts input lines
// handled (sent and answered, skipped, or rejected), so a resumed run's bar
// jumps over the lines already done. A nil *progress draws nothing.
type progress struct {
	bar       *progressbar.ProgressBar
	console   *console
	u         *ui
	described time.Time
}

// newProgress returns a bar for total lines (-1 when unknown), or nil when
// stderr is not a terminal or --quiet is set.
func newProgress(u *ui, tty bool, total int) *progress {
	if u.quiet || !tty {
		return nil
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(u.console.barWriter()),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("lines"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionEnableColorCodes(u.color),
		progressbar.OptionSetDescription(""),
	)
	u.console.setBar(true)
	return &progress{bar: bar, console: u.console, u: u}
}

// update advances the bar by n lines and shows the running totals (at
// most every describeInterval: each description redraws the bar). Callers
// serialise calls.
func (p *progress) update(n int, s *summary) {
	if p == nil {
		return
	}
	p.bar.Add(n)
	if time.Since(p.described) < describeInterval {
		return
	}
	p.described = time.Now()
	failed := s.failedTotal()
	desc := fmt.Sprintf("ok %d", s.Succeeded)
	if failed > 0 {
		desc += " " + p.u.paint(colorRed, fmt.Sprintf("failed %d", failed))
	}
	if s.Skipped > 0 {
		desc += fmt.Sprintf(" skipped %d", s.Skipped)
	}
	desc += " " + formatUSD(s.Cost)
	p.bar.Describe(desc)
}

const describeInterval = 150 * time.Millisecond

// finish erases the bar.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.bar.Exit()
	p.console.setBar(false)
}
