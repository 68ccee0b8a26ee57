package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/deluge-go/deluge/llm"
)

// summary counts what a run did. The run command fills it from the results
// it writes and from the engine's Stats.
type summary struct {
	// Read counts the input lines read (blank lines excluded).
	Read int
	// Skipped counts lines whose ID was already done in the output file.
	Skipped int
	// Duplicates counts lines whose ID appeared earlier in the same input.
	Duplicates int
	// OtherShards counts lines left to other shards (--shard); Shard is
	// this run's ("2/4"), "" without --shard.
	OtherShards int
	Shard       string
	Succeeded   int
	// Failed counts failed lines by error code.
	Failed map[string]int
	// NotRun counts lines read but not completed because the run was
	// interrupted: not sent after the first signal, or abandoned in flight
	// after the second; a rerun sends them.
	NotRun int

	Retries       int
	RateLimitHits int
	// CacheHits counts results served from the response cache; SavedCost
	// is what they cost when they were paid (from the engine's Stats).
	CacheHits int
	SavedCost float64
	// Paces are the models paced lower than configured because the
	// server allowed less; Routed splits a model router's replies by the
	// model it chose.
	Paces  []llm.Pace
	Routed map[string]llm.RoutedStats
	// Usage and Cost are those of the replies received (and paid) in this
	// run, as llm.Client.Stats counts them: cache hits are not included.
	Usage       llm.Usage
	Cost        float64
	Elapsed     time.Duration
	Interrupted bool
	Output      string
}

func newSummary() *summary { return &summary{Failed: map[string]int{}} }

// addResult counts one written result.
func (s *summary) addResult(r *result) {
	if r.Error != nil {
		s.Failed[r.Error.Code]++
		return
	}
	s.Succeeded++
	if r.Cached {
		s.CacheHits++
		return // paid in an earlier call: its tokens are not this run's
	}
	s.Usage = s.Usage.Add(r.Usage)
	s.Cost += r.Cost
}

// failedTotal is the number of failed lines, duplicates included.
func (s *summary) failedTotal() int {
	n := s.Duplicates
	for _, c := range s.Failed {
		n += c
	}
	return n
}

// requestsPerSecond is the rate of completed prompts.
func (s *summary) requestsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Succeeded+s.failedTotal()-s.Duplicates) / s.Elapsed.Seconds()
}

// exitCode is the run's exit code.
func (s *summary) exitCode() int {
	switch {
	case s.Interrupted:
		return exitInterrupted
	case s.failedTotal() > 0:
		return exitFailures
	}
	return exitOK
}

// render writes the summary for a human.
func (s *summary) render(w io.Writer, u *ui) {
	var b strings.Builder
	title := "done"
	if s.Interrupted {
		title = u.paint(colorYellow, "interrupted")
	}
	fmt.Fprintf(&b, "%s %s in %s (%.1f req/s)\n", u.paint(colorBold, "deluge:"), title,
		s.Elapsed.Round(time.Millisecond), s.requestsPerSecond())
	row := summaryRow(&b)
	s.outcomeRows(row, u)
	if s.Skipped > 0 {
		row("skipped", "%s already done in %s", groupDigits(s.Skipped), s.Output)
	}
	if s.Shard != "" {
		row("other shards", "%s lines (this is shard %s)", groupDigits(s.OtherShards), s.Shard)
	}
	if s.NotRun > 0 {
		row("not run", "%s (interrupted: not sent, or abandoned in flight; a rerun sends them)", groupDigits(s.NotRun))
	}
	row("retries", "%s  (rate-limit hits %s)", groupDigits(s.Retries), groupDigits(s.RateLimitHits))
	if s.SavedCost > 0 {
		row("cache hits", "%s  (saved %s)", groupDigits(s.CacheHits), formatUSD(s.SavedCost))
	} else {
		row("cache hits", "%s", groupDigits(s.CacheHits))
	}
	for _, p := range s.Paces {
		row("pace", "%s", paceLine(p))
	}
	if len(s.Routed) > 0 {
		row("routed", "%s", routedLine(s.Routed))
	}
	s.tokensRow(row)
	row("cost", "%s", formatUSD(s.Cost))
	if s.Output != "" && s.Output != "-" {
		row("results", "%s", s.Output)
		if s.Interrupted {
			row("to finish", "rerun the same command: done IDs are skipped")
		}
	}
	io.WriteString(w, b.String())
}

// summaryRow returns the function that writes one row of a summary to b.
func summaryRow(b *strings.Builder) func(name, format string, args ...any) {
	return func(name, format string, args ...any) {
		fmt.Fprintf(b, "  %-15s %s\n", name, fmt.Sprintf(format, args...))
	}
}

// outcomeRows writes the succeeded and failed rows (failures by code,
// duplicates included).
func (s *summary) outcomeRows(row func(name, format string, args ...any), u *ui) {
	row("succeeded", "%s", u.paint(colorGreen, groupDigits(s.Succeeded)))
	if n := s.failedTotal(); n > 0 {
		codes := maps.Clone(s.Failed)
		if s.Duplicates > 0 {
			codes["duplicate_id"] = s.Duplicates
		}
		row("failed", "%s  (%s)", u.paint(colorRed, groupDigits(n)), byCode(codes))
	} else {
		row("failed", "0")
	}
}

// tokensRow writes the tokens row.
func (s *summary) tokensRow(row func(name, format string, args ...any)) {
	row("tokens", "in %s (cached %s), out %s", groupDigits(s.Usage.InputTokens),
		groupDigits(s.Usage.CachedInputTokens), groupDigits(s.Usage.OutputTokens))
}

// byCode formats counts per error code, most frequent first.
func byCode(m map[string]int) string {
	codes := slices.Collect(maps.Keys(m))
	slices.SortFunc(codes, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", c, m[c])
	}
	return strings.Join(parts, ", ")
}

// groupDigits writes n with thousands separators: 1234567 → "1,234,567".
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatUSD formats a cost with enough digits to be useful for small sums.
func formatUSD(v float64) string {
	switch {
	case v == 0:
		return "$0.00"
	case v < 0.01:
		return fmt.Sprintf("$%.6f", v)
	case v < 100:
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

// loweredPaces keeps the models whose pace the server was found to
// allow lower than configured: the others ran as configured, which the
// summary need not repeat.
func loweredPaces(ps []llm.Pace) []llm.Pace {
	var out []llm.Pace
	for _, p := range ps {
		if p.Lowered() {
			out = append(out, p)
		}
	}
	return out
}

// paceLine says what a lowered pace was found to be, against the
// configured one and what the server's headers report, and what to do.
func paceLine(p llm.Pace) string {
	var found, configured []string
	if n := p.Found.RequestsPerMinute; n > 0 {
		found = append(found, groupDigits(n)+" RPM")
		if c := p.Configured.RequestsPerMinute; c > 0 {
			configured = append(configured, groupDigits(c)+" RPM")
		}
	}
	if n := p.Found.TokensPerMinute; n > 0 {
		found = append(found, groupDigits(n)+" TPM")
		if c := p.Configured.TokensPerMinute; c > 0 {
			configured = append(configured, groupDigits(c)+" TPM")
		}
	}
	line := fmt.Sprintf("%s: the server allowed %s", p.Model, strings.Join(found, ", "))
	if len(configured) > 0 {
		line += ", not the " + strings.Join(configured, ", ") + " configured"
	}
	var server []string
	if n := p.Server.RequestsPerMinute; n > 0 {
		server = append(server, groupDigits(n)+" RPM")
	}
	if n := p.Server.TokensPerMinute; n > 0 {
		server = append(server, groupDigits(n)+" TPM")
	}
	if len(server) > 0 {
		line += " (its headers say " + strings.Join(server, ", ") + ")"
	}
	return line + ": the quota is lower than --rpm/--tpm, or shared with another client"
}

// routedLine splits a model router's replies by the model it chose, most
// used first: "gpt-4.1-mini 812, o4-mini 188".
func routedLine(m map[string]llm.RoutedStats) string {
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		if m[a].Calls != m[b].Calls {
			return int(m[b].Calls - m[a].Calls)
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %s (%s)", n, groupDigits(int(m[n].Calls)), formatUSD(m[n].Cost))
	}
	return strings.Join(parts, ", ")
}
