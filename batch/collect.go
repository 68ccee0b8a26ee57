package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"

	"github.com/deluge-go/deluge/llm"
)

// Result is the outcome of one input of a submission: exactly one of
// Response and Err is set. Index is the input's position in the sequence
// given to [Client.Submit] (-1 when it cannot be known: the part's input
// file was deleted); Attempts is 1 for a request the job ran and 0 for one
// it did not, Latency is 0 (a batch request has no latency of its own).
// A response's Cost is at the batch price.
type Result struct {
	// ID is the input's ID, its custom_id.
	ID string
	// Model is the model ID the input was for.
	Model string
	llm.Result
}

// Results yields the result of every input of st whose outcome is known:
// the inputs that were rejected, then those of every part whose job has
// ended (see [Client.Collect]). Parts whose job has not ended are skipped:
// call [Client.Wait] first. An error (a download that failed) is yielded
// once, last.
func (c *Client) Results(ctx context.Context, st *State) iter.Seq2[Result, error] {
	return func(yield func(Result, error) bool) {
		if err := checkState(st); err != nil {
			yield(Result{}, err)
			return
		}
		for r := range c.Rejections(st) {
			if !yield(r, nil) {
				return
			}
		}
		for _, p := range st.Parts {
			if !p.Terminal() {
				continue
			}
			for r, err := range c.Collect(ctx, st, p) {
				if !yield(r, err) || err != nil {
					return
				}
			}
		}
	}
}

// Rejections yields the results of the inputs Submit did not submit.
func (c *Client) Rejections(st *State) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		for _, rj := range st.Rejected {
			err := &llm.Error{Code: llm.Code(rj.Code), Model: rj.Model, Message: rj.Message, Err: ErrNotRun}
			if !yield(Result{ID: rj.ID, Model: rj.Model, Result: llm.Result{Index: rj.Index, Err: err}}) {
				return
			}
		}
	}
}

// Collect yields one result per line of part p, whose job has ended: it
// downloads the job's output and error files and maps every line back to
// its input by custom_id. Responses carry their usage, their cost at the
// batch price and the provider's content-filter annotations; a failed
// request its typed [*llm.Error]. Inputs the job did not run (it expired,
// was cancelled, or failed validation) get an error matching [ErrNotRun],
// so that sending them again sends only those. An error (a download that
// failed, a part whose job has not ended: [ErrNotFinished]) is yielded
// once, last.
func (c *Client) Collect(ctx context.Context, st *State, p *Part) iter.Seq2[Result, error] {
	return func(yield func(Result, error) bool) {
		if !p.Terminal() {
			status := "not created"
			if p.Job != nil {
				status = string(p.Job.Status)
			}
			yield(Result{}, fmt.Errorf("%w: the job of input file %d is %s", ErrNotFinished, p.N, status))
			return
		}
		svc, _, err := c.service(p.Model)
		if err != nil {
			yield(Result{}, err)
			return
		}
		k := &collector{c: c, svc: svc, st: st, p: p, limit: c.limits(svc).MaxResultLineBytes}
		k.run(ctx, yield)
	}
}

// collector maps the lines of one part's output back to its inputs.
type collector struct {
	c     *Client
	svc   Service
	st    *State
	p     *Part
	limit int

	// order holds the part's custom_ids in file order and pos their
	// position; nil when the input file is gone.
	order []string
	pos   map[string]int
	seen  []bool
	found int
	// Lines that could not be used.
	bad, unknown int
	stopped      bool
}

func (k *collector) run(ctx context.Context, yield func(Result, error) bool) {
	p := k.p
	if err := k.readInput(ctx); err != nil {
		if ctx.Err() != nil {
			yield(Result{}, ctx.Err())
			return
		}
		// The results can still be yielded, by ID, without positions.
		k.order, k.pos = nil, nil
		k.c.logger().Warn("batch: the IDs of an input file cannot be read: results keep their IDs but not their positions",
			slog.Int("part", p.N), slog.String("file", p.FileID), slog.String("error", err.Error()))
	}
	job := p.Job
	ids := []string{job.OutputFileID, job.ErrorFileID}
	if ids[1] == ids[0] {
		ids = ids[:1]
	}
	for _, id := range ids {
		if id == "" {
			continue
		}
		if err := k.readOutput(ctx, id, yield); err != nil {
			if !k.stopped {
				yield(Result{}, fmt.Errorf("batch: reading file %s of job %s: %w", id, job.ID, err))
			}
			return
		}
		if k.stopped {
			return
		}
	}
	// Inputs without a line: the job did not run them.
	for i, id := range k.order {
		if k.seen[i] {
			continue
		}
		idx, _ := p.Indexes.At(i)
		r := Result{ID: id, Model: p.Model, Result: llm.Result{Index: idx, Err: notRun(k.svc, p, i+1)}}
		if !yield(r, nil) {
			return
		}
	}
	switch {
	case k.order == nil && k.found < p.Lines:
		yield(Result{}, fmt.Errorf("batch: %d of the %d requests of input file %d have no result, and the input file (%s) is gone, so they cannot be named",
			p.Lines-k.found, p.Lines, p.N, p.FileID))
	case k.bad > 0 || k.unknown > 0:
		yield(Result{}, fmt.Errorf("batch: job %s: %d lines of its output could not be decoded and %d name no input of file %d", job.ID, k.bad, k.unknown, p.N))
	}
}

// readInput reads the custom_ids of the part's input file, in order: from
// the file Submit left in the spool directory, else from the provider's
// copy of the input file.
func (k *collector) readInput(ctx context.Context) error {
	if f, err := os.Open(k.c.idsPath(k.st, k.p.N)); err == nil {
		err = k.readIDs(f, func(line []byte) (string, error) {
			var id string
			err := json.Unmarshal(line, &id)
			return id, err
		})
		f.Close()
		if err == nil {
			return nil
		}
		k.c.logger().Warn("batch: the local list of a part's IDs is unusable; reading its input file from the provider",
			slog.Int("part", k.p.N), slog.String("error", err.Error()))
	}
	rc, err := k.svc.FileContent(ctx, k.p.FileID)
	if err != nil {
		return err
	}
	defer rc.Close()
	return k.readIDs(rc, func(line []byte) (string, error) {
		var l struct {
			CustomID string `json:"custom_id"`
		}
		err := json.Unmarshal(line, &l)
		return l.CustomID, err
	})
}

// readIDs reads the part's custom_ids, one per line, with id.
func (k *collector) readIDs(r io.Reader, id func([]byte) (string, error)) error {
	k.order = make([]string, 0, k.p.Lines)
	k.pos = make(map[string]int, k.p.Lines)
	err := eachLine(r, k.limit, func(line []byte) error {
		s, err := id(line)
		if err != nil {
			return fmt.Errorf("line %d: %w", len(k.order)+1, err)
		}
		k.pos[s] = len(k.order)
		k.order = append(k.order, s)
		return nil
	})
	if err != nil {
		k.order, k.pos = nil, nil
		return err
	}
	if len(k.order) != k.p.Lines {
		n := len(k.order)
		k.order, k.pos = nil, nil
		return fmt.Errorf("it holds %d lines, where %d were uploaded", n, k.p.Lines)
	}
	k.seen = make([]bool, len(k.order))
	return nil
}

// readOutput yields the results of one output or error file.
func (k *collector) readOutput(ctx context.Context, fileID string, yield func(Result, error) bool) error {
	rc, err := k.svc.FileContent(ctx, fileID)
	if err != nil {
		return err
	}
	defer rc.Close()
	p := k.p
	return eachLine(rc, k.limit, func(line []byte) error {
		lr, err := k.svc.Result(line)
		if err != nil {
			k.bad++
			return nil
		}
		idx := -1
		if k.order != nil {
			i, ok := k.pos[lr.ID]
			if !ok {
				k.unknown++
				return nil
			}
			if k.seen[i] {
				return nil // a line repeated: the first counts
			}
			k.seen[i] = true
			idx, _ = p.Indexes.At(i)
		}
		k.found++
		r := Result{ID: lr.ID, Model: p.Model, Result: llm.Result{Index: idx, Response: lr.Response, Err: lr.Err, Attempts: 1}}
		if lr.Response != nil {
			lr.Response.Attempts = 1
		}
		if lr.Err != nil && errors.Is(lr.Err, ErrNotRun) {
			r.Attempts = 0
		}
		if !yield(r, nil) {
			k.stopped = true
			return errStopped
		}
		return nil
	})
}

var errStopped = errors.New("stopped")

// eachLine calls f with each non-blank line of r (without its line end),
// refusing lines longer than limit.
func eachLine(r io.Reader, limit int, f func([]byte) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var buf []byte
	for {
		buf = buf[:0]
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			buf = append(buf, frag...)
			if len(buf) > limit+2 {
				return fmt.Errorf("a line is longer than %d bytes", limit)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if line := bytes.TrimSpace(buf); len(line) > 0 {
			if ferr := f(line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
