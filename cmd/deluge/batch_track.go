package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/progress"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/registry"
)

// wait polls the submission's jobs until they end, drawing their progress:
// a bar on a terminal, a line per change otherwise.
func (s *batchSession) wait(ctx context.Context, tr batchTracking) error {
	u := s.a.ui
	st := s.state.Submission
	total := st.Lines()
	var (
		mu       sync.Mutex
		statuses string
		show     func(llm.ProgressInfo)
		lastLine string
	)
	status := func(llm.ProgressInfo) string {
		mu.Lock()
		defer mu.Unlock()
		return statuses
	}
	switch {
	case u.quiet:
		show = func(llm.ProgressInfo) {}
	case s.a.env.stderrTTY:
		bar := progress.NewBar(u.console.barWriter(), &progress.BarOptions{Label: "batch", Unit: "lines", Status: status, Clear: true})
		u.console.setBar(true)
		defer u.console.setBar(false)
		show = bar.Update
	default:
		show = func(info llm.ProgressInfo) {
			line := fmt.Sprintf("batch: %s/%s done (ok %s, failed %s) · %s · %s", groupDigits(info.Done), groupDigits(info.Total),
				groupDigits(info.Succeeded), groupDigits(info.Failed), status(info), info.Elapsed.Round(time.Second))
			if key := line[:strings.LastIndex(line, " · ")]; key != lastLine {
				lastLine = key
				u.infof("%s", line)
			}
		}
	}
	info := func(pr batch.Progress, final bool) llm.ProgressInfo {
		mu.Lock()
		statuses = formatStatuses(pr.Statuses)
		mu.Unlock()
		c := pr.Counts
		return llm.ProgressInfo{Total: total, Done: c.Completed + c.Failed, Succeeded: c.Completed, Failed: c.Failed,
			Elapsed: pr.Elapsed, Final: final}
	}
	pr, err := s.bc.Wait(ctx, st, func(pr batch.Progress) { show(info(pr, false)) })
	show(info(pr, true))
	if err != nil {
		if errors.Is(err, batch.ErrNotSubmitted) {
			return usageError(err)
		}
		if errors.Is(err, context.Canceled) {
			return err
		}
		return batchError(err)
	}
	u.infof("batch jobs ended: %s", formatStatuses(pr.Statuses))
	return nil
}

// formatStatuses writes "in_progress 2 · completed 1".
func formatStatuses(m map[batch.Status]int) string {
	if len(m) == 0 {
		return "no job yet"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, " · ")
}

func newBatchStatusCmd(a *app) *cobra.Command {
	var (
		output string
		asJSON bool
		tr     batchTracking
		wait   bool
	)
	cmd := &cobra.Command{
		Use:   "status -o results.jsonl [--wait]",
		Short: "Show the state of a submission's batch jobs",
		Long: `Ask for the state of the submission's jobs (statuses: validating, in_progress,
finalizing, completed, failed, expired, cancelling, cancelled) and show each
with its request counts. With --wait, poll until every job has ended.`,
		Example: `  deluge batch status -o results.jsonl
  deluge batch status -o results.jsonl --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tr.check(); err != nil {
				return err
			}
			s, err := openSubmission(a, output, batch.WithPollInterval(tr.poll), batch.WithMaxPollInterval(tr.maxPoll))
			if err != nil {
				return err
			}
			defer s.close()
			in := watchInterrupts(cmd.Context(), a.env, 0, func(int, os.Signal) {})
			defer in.stop()
			st := s.state.Submission
			if wait {
				if err := s.wait(in.dispatch, tr); err != nil {
					if in.interrupted() {
						return silentExit(exitInterrupted)
					}
					return err
				}
			} else if _, err := s.bc.Refresh(in.dispatch, st); err != nil {
				if in.interrupted() {
					return silentExit(exitInterrupted)
				}
				a.ui.warnf("asking for the jobs' state: %v (showing the last known)", err)
			}
			if asJSON {
				enc := json.NewEncoder(a.ui.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(s.state)
			}
			return s.writeStatus()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "the output file of the submission")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the state file (submission, files, jobs) as JSON")
	cmd.Flags().BoolVar(&wait, "wait", false, "poll until every job has ended")
	tr.register(cmd)
	return cmd
}

// partAPI names the API of a part's lines: "chat" (chat completions, the
// default endpoint) or "responses".
func partAPI(p *batch.Part) string {
	switch {
	case p.Endpoint == "":
		return "chat"
	case strings.HasSuffix(p.Endpoint, "/responses"):
		return "responses"
	}
	return p.Endpoint
}

// writeStatus prints one line per part and the totals.
func (s *batchSession) writeStatus() error {
	u := s.a.ui
	b := s.state
	st := b.Submission
	fmt.Fprintf(u.stdout, "submission %s of %s, created %s (%s ago)\n", st.ID, b.Input, st.CreatedAt.Local().Format("2006-01-02 15:04"),
		time.Since(st.CreatedAt).Round(time.Second))
	tw := tabwriter.NewWriter(u.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tLINES\tMODEL\tDEPLOYMENT\tAPI\tJOB\tSTATUS\tDONE\tFAILED\tRESULTS")
	for _, p := range st.Parts {
		job, status, done, failed := "-", string(p.Stage), "-", "-"
		if p.Job != nil {
			job, status = p.Job.ID, string(p.Job.Status)
			done, failed = groupDigits(p.Job.Counts.Completed), groupDigits(p.Job.Counts.Failed)
		}
		fetched := "-"
		switch {
		case b.fetched(p.N):
			fetched = "fetched"
		case p.Terminal():
			fetched = "to fetch"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.N, groupDigits(p.Lines), p.Model, p.Name, partAPI(p), job, status, done, failed, fetched)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	c := st.Counts()
	fmt.Fprintf(u.stdout, "total: %s lines, %s done, %s failed", groupDigits(st.Lines()), groupDigits(c.Completed), groupDigits(c.Failed))
	if n := len(b.Malformed) + len(st.Rejected); n > 0 {
		fmt.Fprintf(u.stdout, ", %s not submitted", groupDigits(n))
	}
	fmt.Fprintln(u.stdout)
	switch {
	case !st.Submitted():
		fmt.Fprintf(u.stdout, "not all submitted: run 'deluge batch submit -o %s' again to finish\n", s.output)
	case b.allFetched():
		fmt.Fprintf(u.stdout, "every result is in %s\n", s.output)
	case st.Done():
		fmt.Fprintf(u.stdout, "every job has ended: run 'deluge batch fetch -o %s'\n", s.output)
	}
	for _, p := range st.Parts {
		if p.Job != nil && len(p.Job.Errors) > 0 {
			e := p.Job.Errors[0]
			fmt.Fprintf(u.stdout, "file %d: %s: %s\n", p.N, e.Code, oneLine(e.Message))
		}
	}
	return nil
}

func newBatchCancelCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "cancel -o results.jsonl",
		Short: "Cancel a submission's batch jobs (what they finished stays available)",
		Long: `Ask the provider to cancel every job of the submission that has not ended.
A job takes up to 10 minutes to go from cancelling to cancelled; then
'deluge batch fetch' writes what it finished, and an error line for each
prompt it did not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openSubmission(a, output)
			if err != nil {
				return err
			}
			defer s.close()
			st := s.state.Submission
			if err := s.bc.Cancel(cmd.Context(), st); err != nil {
				return batchError(err)
			}
			pr, _ := s.bc.Refresh(cmd.Context(), st)
			a.ui.infof("cancel requested: %s", formatStatuses(pr.Statuses))
			if !st.Submitted() {
				a.ui.infof("files not submitted yet stay so (do not rerun submit on %s if you meant to stop)", s.output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "the output file of the submission")
	return cmd
}

func newBatchListCmd(a *app) *cobra.Command {
	var (
		model, provider string
		limit           int
		asJSON          bool
	)
	cmd := &cobra.Command{
		Use:   "list [-m MODEL]",
		Short: "List the batch jobs of the resource serving a model",
		Long: `List the batch jobs of the endpoint (Azure resource) serving a model, newest
first: every job, not only deluge's.`,
		Example: `  deluge batch list
  deluge batch list -m azure-gpt-4o --limit 50 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return usageErrorf("--limit %d: must be at least 1", limit)
			}
			if model == "" {
				model = defaultBatchModel(provider)
			}
			m, err := lookupModel(model, provider)
			if err != nil {
				return usageError(err)
			}
			if err := checkProviders([]registry.Model{m}); err != nil {
				return usageError(err)
			}
			c, err := llm.NewClient(m.ID, llm.WithLogger(a.ui.logger))
			if err != nil {
				return usageError(err)
			}
			bc := batch.New(c, batch.WithLogger(a.ui.logger))
			var jobs []batch.Job
			for j, err := range bc.Jobs(cmd.Context(), "") {
				if err != nil {
					return batchError(err)
				}
				jobs = append(jobs, j)
				if len(jobs) == limit {
					break
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.ui.stdout)
				enc.SetIndent("", "  ")
				if jobs == nil {
					jobs = []batch.Job{}
				}
				return enc.Encode(jobs)
			}
			tw := tabwriter.NewWriter(a.ui.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tSTATUS\tCREATED\tTOTAL\tDONE\tFAILED\tINPUT FILE")
			for _, j := range jobs {
				created := "-"
				if !j.CreatedAt.IsZero() {
					created = j.CreatedAt.Local().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Status, created, groupDigits(j.Counts.Total),
					groupDigits(j.Counts.Completed), groupDigits(j.Counts.Failed), j.InputFileID)
			}
			return tw.Flush()
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&model, "model", "m", "", "a model served by the resource (default: a catalog model of the provider)")
	fl.StringVar(&provider, "provider", "", "the provider (default azure-foundry)")
	fl.IntVar(&limit, "limit", 20, "list at most this many jobs")
	fl.BoolVar(&asJSON, "json", false, "print the jobs as JSON")
	return cmd
}

// defaultBatchModel is a model of the provider to reach its endpoint.
func defaultBatchModel(provider string) string {
	if provider == "" {
		provider = azurefoundry.ProviderName
	}
	for _, m := range registry.Models() {
		if m.Provider == provider && m.APIBase == "" && m.APISpec == "" {
			return m.ID
		}
	}
	return ""
}
