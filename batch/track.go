package batch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/deluge-go/deluge/internal/backoff"
	"github.com/deluge-go/deluge/llm"
)

// Progress summarizes the jobs of a submission.
type Progress struct {
	// Parts counts the input files, Created those whose job exists.
	Parts, Created int
	// Lines counts the requests submitted.
	Lines int
	// Statuses counts the jobs by their last known status.
	Statuses map[Status]int
	// Counts sums the jobs' request counts.
	Counts Counts
	// Done reports that every job of a complete submission has ended.
	Done bool
	// Elapsed is the time since the submission started.
	Elapsed time.Duration
}

// ErrNotSubmitted is returned by [Client.Wait] for a submission whose jobs
// are not all created: [Client.Submit] finishes it.
var ErrNotSubmitted = errors.New("batch: the submission is not complete: call Submit again (deluge batch submit) to upload and create the rest")

// progress summarizes st.
func progress(st *State) Progress {
	pr := Progress{Parts: len(st.Parts), Statuses: map[Status]int{}, Done: st.Done(), Elapsed: time.Since(st.CreatedAt)}
	for _, p := range st.Parts {
		pr.Lines += p.Lines
		if !p.Created() {
			continue
		}
		pr.Created++
		if p.Job != nil {
			pr.Statuses[p.Job.Status]++
			pr.Counts = pr.Counts.Add(p.Job.Counts)
		}
	}
	return pr
}

// Refresh asks the provider for the state of every job of st that has not
// ended, records it in st (journaled) and returns the summary.
func (c *Client) Refresh(ctx context.Context, st *State) (Progress, error) {
	if c.o.err != nil {
		return Progress{}, c.o.err
	}
	if err := checkState(st); err != nil {
		return Progress{}, err
	}
	changed, firstErr, err := c.eachLiveJob(ctx, st, "job status", "job", Service.Job)
	if err != nil {
		return progress(st), err
	}
	if changed && c.o.journal != nil {
		if err := c.o.journal(st); err != nil {
			return progress(st), fmt.Errorf("batch: recording the submission's state: %w", err)
		}
	}
	return progress(st), firstErr
}

// eachLiveJob applies op (a [Service] method: Job, CancelJob) to the job of
// every part of st that is created and has not ended, retrying transient
// failures (a request named what), and records the job op returns. A
// part's failure, described as "batch: <describe> <ID> (input file <N>)",
// does not stop the others: the first is failed. changed reports whether
// a recorded job differs from what st held; err is a failure to reach a
// part's service, which stops the loop.
func (c *Client) eachLiveJob(ctx context.Context, st *State, what, describe string, op func(Service, context.Context, string) (Job, error)) (changed bool, failed, err error) {
	for _, p := range st.Parts {
		if !p.Created() || p.Terminal() {
			continue
		}
		svc, _, err := c.service(p.Model)
		if err != nil {
			return changed, failed, err
		}
		var job Job
		err = c.retry(ctx, what, func(int) error {
			var err error
			job, err = op(svc, ctx, p.JobID)
			return err
		})
		if err != nil {
			failed = cmpErr(failed, fmt.Errorf("batch: %s %s (input file %d): %w", describe, p.JobID, p.N, err))
			continue
		}
		if p.Job == nil || p.Job.Status != job.Status || p.Job.Counts != job.Counts ||
			p.Job.OutputFileID != job.OutputFileID || p.Job.ErrorFileID != job.ErrorFileID {
			changed = true
		}
		p.Job = &job
	}
	return changed, failed, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// Wait polls the jobs of st until every one has ended, calling report (when
// not nil) with the summary after each poll. It polls every
// [WithPollInterval] (a minute by default), half as often again after each
// poll that changed nothing, and backs off after failed polls, up to
// [WithMaxPollInterval]; a failure that no retry can fix (authentication,
// a missing job) ends it. ctx bounds the wait: a job may take 24 hours.
func (c *Client) Wait(ctx context.Context, st *State, report func(Progress)) (Progress, error) {
	if c.o.err != nil {
		return Progress{}, c.o.err
	}
	if err := checkState(st); err != nil {
		return Progress{}, err
	}
	if !st.Submitted() {
		return progress(st), ErrNotSubmitted
	}
	interval := c.o.pollInterval
	var last Progress
	for first := true; ; first = false {
		pr, err := c.Refresh(ctx, st)
		if report != nil {
			report(pr)
		}
		switch {
		case err != nil && !transient(ctx, err):
			return pr, err
		case err != nil:
			c.logger().Warn("batch: polling the jobs failed; trying again", slog.Duration("wait", interval), slog.String("error", err.Error()))
			interval = min(2*interval, c.o.maxPollInterval)
		case pr.Done:
			return pr, nil
		case !first && pr.Counts == last.Counts && sameStatuses(pr.Statuses, last.Statuses):
			interval = min(interval+interval/2, c.o.maxPollInterval)
		default:
			interval = c.o.pollInterval
		}
		if err == nil {
			last = pr
		}
		if err := backoff.Sleep(ctx, interval); err != nil {
			return pr, err
		}
	}
}

func sameStatuses(a, b map[Status]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Cancel asks the provider to cancel every job of st that has not ended;
// the work they finished stays available to [Client.Results], the rest
// gets errors matching [ErrNotRun]. A job takes up to 10 minutes to go
// from cancelling to cancelled. Parts whose job is not created yet are
// left alone: a cancelled submission should not be submitted further.
func (c *Client) Cancel(ctx context.Context, st *State) error {
	if c.o.err != nil {
		return c.o.err
	}
	if err := checkState(st); err != nil {
		return err
	}
	_, firstErr, err := c.eachLiveJob(ctx, st, "cancel job", "cancelling job", Service.CancelJob)
	if err != nil {
		return err
	}
	if c.o.journal != nil {
		if err := c.o.journal(st); err != nil {
			return fmt.Errorf("batch: recording the submission's state: %w", err)
		}
	}
	return firstErr
}

// Jobs lists the batch jobs of the endpoint serving model ("" is the
// [llm.Client]'s primary model), newest first, page by page as the loop
// asks for them. An error is yielded once, last.
func (c *Client) Jobs(ctx context.Context, model string) iter.Seq2[Job, error] {
	return func(yield func(Job, error) bool) {
		svc, _, err := c.service(model)
		if err != nil {
			yield(Job{}, err)
			return
		}
		o := ListOptions{Limit: 100}
		for {
			var page Page[Job]
			err := c.retry(ctx, "list jobs", func(int) error {
				var err error
				page, err = svc.Jobs(ctx, o)
				return err
			})
			if err != nil {
				yield(Job{}, err)
				return
			}
			for _, j := range page.Data {
				if !yield(j, nil) {
					return
				}
			}
			if !page.HasMore || page.LastID == "" {
				return
			}
			o.After = page.LastID
		}
	}
}

// Job returns a job of the endpoint serving model by its ID.
func (c *Client) Job(ctx context.Context, model, id string) (Job, error) {
	svc, _, err := c.service(model)
	if err != nil {
		return Job{}, err
	}
	var job Job
	err = c.retry(ctx, "job status", func(int) error {
		var err error
		job, err = svc.Job(ctx, id)
		return err
	})
	return job, err
}

// notRun is the error of an input a job did not run.
func notRun(svc Service, p *Part, line int) error {
	job := p.Job
	var e *llm.Error
	switch {
	case job == nil:
		e = &llm.Error{Code: llm.CodeUnknown, Message: "the job's state is unknown"}
	case job.Status == StatusFailed:
		var pick *JobError
		for i := range job.Errors {
			je := &job.Errors[i]
			if je.Line == line {
				pick = je
				break
			}
			if je.Line == 0 && pick == nil {
				pick = je
			}
		}
		if pick == nil && len(job.Errors) > 0 {
			// The job failed over other lines: this one was fine, but
			// nothing of the file ran.
			first := job.Errors[0]
			e = &llm.Error{Code: llm.CodeInvalidRequest, Message: fmt.Sprintf("the job failed validation because of line %d of its input file (%s: %s); this line did not run: fix that line and submit again",
				first.Line, first.Code, first.Message)}
		} else if pick != nil {
			e = svc.JobError(*pick)
		} else {
			e = &llm.Error{Code: llm.CodeUnknown, Message: "the job failed without saying why; submit again"}
		}
	case job.Status == StatusExpired:
		e = &llm.Error{Code: llm.CodeTimeout, Message: "the job expired (24-hour completion window) before this request ran: submit it again"}
	case job.Status == StatusCancelled:
		e = &llm.Error{Code: llm.CodeCanceled, Message: "the job was cancelled before this request ran: submit it again"}
	default:
		e = &llm.Error{Code: llm.CodeUnknown, Message: fmt.Sprintf("the job ended %q, but its output and error files hold no line for this request: submit it again", job.Status)}
	}
	if e.Model == "" {
		e.Model = p.Model
	}
	if e.Err == nil {
		e.Err = ErrNotRun
	} else if !errors.Is(e.Err, ErrNotRun) {
		e.Err = fmt.Errorf("%w: %w", ErrNotRun, e.Err)
	}
	return e
}
