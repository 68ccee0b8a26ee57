package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/llm"
)

func newBatchFetchCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "fetch -o results.jsonl",
		Short: "Download the results of the batch jobs that ended into the output file",
		Long: `Ask for the state of the submission's jobs, download the output and error
files of those that ended, and append one result line per prompt to the
output file, in the format of 'deluge run'. Prompts a job did not run (it
expired, was cancelled or failed validation) get an error line, so that
'deluge run' or another 'deluge batch submit' on the same output sends only
them.

fetch writes each result once: run it again (after an interruption, or while
some jobs still run) and it writes only what is missing.

Exit codes: 0 every prompt succeeded, 1 some failed or some jobs have not
ended yet (run fetch again later), 2 no submission or a configuration error,
130 interrupted.`,
		Example: `  deluge batch fetch -o results.jsonl`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openSubmission(a, output)
			if err != nil {
				return err
			}
			defer s.close()
			in := watchInterrupts(cmd.Context(), a.env, 0, func(int, os.Signal) {})
			defer in.stop()
			if _, err := s.bc.Refresh(in.dispatch, s.state.Submission); err != nil && !in.interrupted() {
				a.ui.warnf("asking for the jobs' state: %v", err)
			}
			err = s.fetchAndReport(in.dispatch)
			if in.interrupted() {
				return silentExit(exitInterrupted)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "the output file of the submission")
	return cmd
}

// fetchAndReport fetches and prints the summary; its error carries the
// exit code.
func (s *batchSession) fetchAndReport(ctx context.Context) error {
	u := s.a.ui
	sum, pending, err := s.fetch(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return batchError(err)
	}
	if !u.quiet {
		s.renderSummary(sum)
	}
	if pending < 0 {
		u.warnf("the submission is not complete: rerun 'deluge batch submit' with -o %s to finish it, then fetch", s.output)
		return silentExit(exitFailures)
	}
	if pending > 0 {
		u.warnf("%s prompts are in jobs that have not ended: run 'deluge batch fetch -o %s' again later (or 'deluge batch status -o %s')",
			groupDigits(pending), s.output, s.output)
		return silentExit(exitFailures)
	}
	if code := sum.exitCode(); code != exitOK {
		return silentExit(code)
	}
	return nil
}

// fetch writes the results of the units not written yet: unit 0 for the
// inputs that were not submitted, unit n for part n once its job ended.
// It returns the counts of all the results written for the submission and
// the number of prompts whose job has not ended (-1: the submission
// itself is not complete).
func (s *batchSession) fetch(ctx context.Context) (*summary, int, error) {
	b := s.state
	st := b.Submission
	fi, err := s.out.Stat()
	if err != nil {
		return nil, 0, err
	}
	w := newResultWriter(s.out, s.out, fi.Size())
	s.out = nil // the writer closes it
	defer w.Close()
	pending := 0
	if st.Complete && !b.fetched(0) {
		err := s.writeUnit(w, 0, func(emit func(*result) bool) error {
			for _, m := range b.Malformed {
				p := &prompt{Line: m.Line, ID: m.ID, Err: errors.New(m.Message)}
				r := errorResult(p, m.Model, providerOf(m.Model), nil)
				r.Error.Message = m.Message
				if !emit(r) {
					return nil
				}
			}
			for r := range s.bc.Rejections(st) {
				if !emit(s.result(r)) {
					return nil
				}
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	for _, p := range st.Parts {
		if b.fetched(p.N) {
			continue
		}
		if !p.Terminal() {
			pending += p.Lines
			continue
		}
		err := s.writeUnit(w, p.N, func(emit func(*result) bool) error {
			for r, err := range s.bc.Collect(ctx, st, p) {
				if err != nil {
					return err
				}
				if !emit(s.result(r)) {
					return nil
				}
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, 0, err
	}
	if b.allFetched() {
		// The IDs kept to map results back are no longer needed.
		if err := s.bc.Clean(st); err != nil {
			s.a.ui.warnf("removing the submission's ID files: %v", err)
		}
	}
	sum := b.Written.summary()
	sum.Output = s.output
	sum.Duplicates = b.Duplicates
	sum.Elapsed = time.Since(st.CreatedAt)
	if !st.Submitted() {
		return sum, -1, nil
	}
	return sum, pending, nil
}

// writeUnit writes one unit's results, once: the output size when the
// unit's writing starts is recorded first, and a unit whose writing was
// interrupted leaves out the IDs written after it. The unit's counts go
// to the state's totals when it is whole.
func (s *batchSession) writeUnit(w *resultWriter, n int, gen func(emit func(*result) bool) error) error {
	b := s.state
	start, resumed := b.FetchStart[n]
	if !resumed {
		if b.FetchStart == nil {
			b.FetchStart = map[int]int64{}
		}
		start = w.Size()
		b.FetchStart[n] = start
		if err := s.save(); err != nil {
			return err
		}
	}
	var already map[string]struct{}
	if resumed {
		var err error
		if already, err = idsFrom(w.f, start); err != nil {
			return fmt.Errorf("reading %s: %w", s.output, err)
		}
	}
	var (
		werr  error
		count = newSummary()
	)
	err := gen(func(r *result) bool {
		if _, dup := already[r.ID]; !dup {
			if werr = w.Write(r); werr != nil {
				return false
			}
			s.wrote++
		}
		count.addResult(r)
		return true
	})
	if werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if err := w.Sync(); err != nil {
		return err
	}
	s.mu.Lock()
	b.Fetched = append(b.Fetched, n)
	b.Written.add(count)
	s.mu.Unlock()
	return s.save()
}

// result turns a batch result into an output line.
func (s *batchSession) result(r batch.Result) *result {
	p := &prompt{ID: r.ID, Line: s.state.Lines.line(r.Index)}
	if r.Err != nil {
		res := errorResult(p, r.Model, providerOf(r.Model), r.Err)
		res.Attempts = r.Attempts
		return res
	}
	return successResult(p, r.Response)
}

// writtenCounts are the counts of the results fetch wrote for a
// submission.
type writtenCounts struct {
	Succeeded int            `json:"succeeded"`
	Failed    map[string]int `json:"failed,omitempty"`
	Usage     llm.Usage      `json:"usage"`
	Cost      float64        `json:"cost"`
}

func (c *writtenCounts) add(s *summary) {
	c.Succeeded += s.Succeeded
	c.Usage = c.Usage.Add(s.Usage)
	c.Cost += s.Cost
	for code, n := range s.Failed {
		if c.Failed == nil {
			c.Failed = map[string]int{}
		}
		c.Failed[code] += n
	}
}

func (c *writtenCounts) summary() *summary {
	s := newSummary()
	s.Succeeded, s.Usage, s.Cost = c.Succeeded, c.Usage, c.Cost
	maps.Copy(s.Failed, c.Failed)
	return s
}

// Size returns the size of the file the writer appends to.
func (rw *resultWriter) Size() int64 {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.size
}

// Sync makes the lines written so far durable.
func (rw *resultWriter) Sync() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.syncLocked()
	return rw.err
}

// renderSummary prints the counts of a submission's results.
func (s *batchSession) renderSummary(sum *summary) {
	u := s.a.ui
	st := s.state.Submission
	var b strings.Builder
	fmt.Fprintf(&b, "%s batch results in %s (%s, submitted %s ago)\n", u.paint(colorBold, "deluge:"), s.output, jobList(st),
		time.Since(st.CreatedAt).Round(time.Second))
	row := summaryRow(&b)
	sum.outcomeRows(row, u)
	sum.tokensRow(row)
	row("cost", "%s (batch price)", formatUSD(sum.Cost))
	row("written now", "%s lines", groupDigits(s.wrote))
	io.WriteString(u.console, b.String())
}
