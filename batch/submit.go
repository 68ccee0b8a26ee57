package batch

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/backoff"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Submit sends jobs through the batch API: it builds the input files (one
// line per job, custom_id = the job's ID, the body serialized as
// [llm.Client.Process] would send it with opts and the job's own options),
// splits them at the provider's limits (Azure: 100,000 lines, 200 MB), per
// model (a file names one deployment) and per endpoint (a file holds one
// url: chat completions' or the Responses API's, see [Endpointer]),
// uploads each file, waits until it is processed and creates a batch job
// on it (completion window 24h).
// Jobs are read as they come and written to disk: memory does not grow
// with their number. A file is uploaded while the next one is built.
//
// IDs must be unique: they key the results. A repeated ID is caught
// within an input file, where it would fail the whole file; across files
// it is not (that would take memory growing with the input), and both
// results are yielded. A job that cannot be sent (an invalid conversation
// or option, an option a batch line cannot carry — [llm.WithBackground],
// [llm.WithPreviousResponse] —, a request the provider's serializer
// refuses, an ID repeated in its file, a request larger than a file may
// be) is not submitted; it is recorded in st.Rejected and
// [Client.Results] yields its error. Options given to Submit itself that
// no job could carry fail the call.
//
// st is a [NewState], or the State of a Submit that stopped (a kill, a
// crash, a full quota): Submit then resumes it with the same jobs, which
// must yield the same requests; it uploads only the files not uploaded and
// creates only the jobs not created, after looking for those whose request
// was sent but whose reply was lost (an upload by its file name, a job by
// its input file). When every file was uploaded, jobs is not read at all.
// Submit returns once every job is created; [Client.Wait] waits for them.
//
// Errors: a provider without a batch API ([ErrNoBatchAPI]), a model or
// request its batch API cannot take (a configuration error from the
// provider: an embeddings model, a Responses API request on an Azure
// api-version that predates it), a full
// enqueued-token quota ([llm.ErrQuotaExceeded], unless [WithQuotaWait]),
// the provider's refusal of a file, [ErrInputChanged], ctx's error. The
// State then records what was done; pass it to Submit again to go on.
func (c *Client) Submit(ctx context.Context, st *State, jobs iter.Seq2[string, llm.Job], opts ...llm.Option) error {
	if c.o.err != nil {
		return c.o.err
	}
	if err := checkState(st); err != nil {
		return err
	}
	// Options wrong for every job are the call's error, not every input's.
	_, probe, err := c.llm.Prepare(llm.Job{Conversation: conversation.New().User("-")}, opts...)
	if err != nil {
		return err
	}
	if le := checkRequest(probe); le != nil {
		return le
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := &submission{c: c, st: st, ctx: ctx, cancel: cancel, opts: opts}
	// The state is on record before anything is uploaded.
	if err := s.journal(); err != nil {
		return err
	}
	if st.Complete && s.allUploaded() {
		// Every file is on the provider: finish the parts without
		// reading the input again.
		for _, p := range st.Parts {
			if !p.Created() {
				if err := s.finish(p, "", nil); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if jobs == nil {
		return errors.New("batch: Submit needs the jobs: some input files of this submission are not uploaded yet")
	}
	return s.run(jobs)
}

// submission is one call of Submit.
type submission struct {
	c      *Client
	st     *State
	ctx    context.Context
	cancel context.CancelCauseFunc
	opts   []llm.Option

	// mu guards st: the builder appends parts while the uploader advances
	// them; every change is journaled under it.
	mu sync.Mutex

	// Builder state.
	spools  map[spoolKey]*spool
	order   []*spool // open spools, by first line
	seq     int      // spools opened
	next    int      // number of the next sealed part
	seed    maphash.Seed
	read    int
	rejects []Rejected
}

// spoolKey names the file a line goes to: a file holds one deployment
// and one url.
type spoolKey struct{ model, endpoint string }

// spool is an input file being built on disk.
type spool struct {
	model    registry.Model
	endpoint string // "" for the Service's default
	svc      Service
	limits   Limits
	path     string
	f        *os.File
	w        *bufio.Writer
	h        hash.Hash
	lines    int
	bytes    int64
	runs     Runs
	// ids holds the hashes of the custom_ids written; idsW writes the
	// custom_ids themselves, in order, to the part's ID file (see
	// idsPath), which Collect reads to map results back.
	ids     map[uint64]struct{}
	idsPath string
	idsF    *os.File
	idsW    *bufio.Writer
}

// sealed is a built part on its way to the uploader.
type sealed struct {
	part *Part
	path string // "" when its file is uploaded already
	svc  Service
}

func (s *submission) journal() error {
	if s.c.o.journal == nil {
		return nil
	}
	if err := s.c.o.journal(s.st); err != nil {
		return fmt.Errorf("batch: recording the submission's state: %w", err)
	}
	return nil
}

// update changes the state under the lock and journals it.
func (s *submission) update(f func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	return s.journal()
}

func (s *submission) allUploaded() bool {
	for _, p := range s.st.Parts {
		if p.Stage.rank() < StageUploaded.rank() {
			return false
		}
	}
	return true
}

// run reads jobs into parts and hands each sealed part to the uploader.
func (s *submission) run(jobs iter.Seq2[string, llm.Job]) error {
	s.spools = map[spoolKey]*spool{}
	s.seed = maphash.MakeSeed()
	s.next = 1
	// One part waits while another uploads: at most two built files on
	// disk besides the open ones.
	queue := make(chan sealed, 1)
	var (
		wg        sync.WaitGroup
		uploadErr error
	)
	wg.Go(func() {
		for sp := range queue {
			if uploadErr != nil {
				continue // drain; their files are removed below
			}
			if err := s.finish(sp.part, sp.path, sp.svc); err != nil {
				uploadErr = err
				s.cancel(err)
			}
		}
	})
	err := s.build(jobs, queue)
	close(queue)
	wg.Wait()
	s.removeSpools()
	if uploadErr != nil {
		return uploadErr
	}
	return err
}

// build reads the jobs; it returns when they end or the submission fails.
func (s *submission) build(jobs iter.Seq2[string, llm.Job], queue chan<- sealed) error {
	for id, job := range jobs {
		if err := s.ctx.Err(); err != nil {
			return context.Cause(s.ctx)
		}
		if err := s.add(s.read, id, job, queue); err != nil {
			return err
		}
		s.read++
	}
	if err := s.ctx.Err(); err != nil {
		return context.Cause(s.ctx)
	}
	for len(s.order) > 0 {
		if err := s.seal(s.order[0], queue); err != nil {
			return err
		}
	}
	if n := len(s.st.Parts); s.next-1 != n {
		return fmt.Errorf("%w: it now makes %d input files, where %d were submitted", ErrInputChanged, s.next-1, n)
	}
	return s.update(func() {
		s.st.Complete = true
		s.st.Inputs = s.read
		s.st.Rejected = s.rejects
	})
}

// add writes job i to its model's spool, or records why it cannot be sent.
func (s *submission) add(i int, id string, job llm.Job, queue chan<- sealed) error {
	_, req, err := s.c.llm.Prepare(job, s.opts...)
	if err != nil {
		if errors.Is(err, llm.ErrClosed) {
			return err
		}
		s.reject(i, id, job.Model, err)
		return nil
	}
	if le := checkRequest(req); le != nil {
		s.reject(i, id, req.Model.ID, le)
		return nil
	}
	if id == "" {
		s.reject(i, id, req.Model.ID, &llm.Error{Code: llm.CodeInvalidRequest, Model: req.Model.ID,
			Message: fmt.Sprintf("input #%d has an empty ID: every input needs a unique ID, which becomes its custom_id", i+1)})
		return nil
	}
	svc, _, err := s.c.service(req.Model.ID)
	if err != nil {
		return err
	}
	line, err := svc.Line(id, req)
	if err != nil {
		if llm.CodeOf(err) == llm.CodeConfiguration {
			// The service cannot send such lines at all: no input is
			// at fault.
			return err
		}
		s.reject(i, id, req.Model.ID, err)
		return nil
	}
	key := spoolKey{model: req.Model.ID}
	if e, ok := svc.(Endpointer); ok {
		key.endpoint = e.Endpoint(req)
	}
	sp := s.spools[key]
	if sp == nil {
		if sp, err = s.open(req.Model, key.endpoint, svc); err != nil {
			return err
		}
	}
	size := int64(len(line)) + 1
	if size > sp.limits.MaxBytes {
		s.reject(i, id, req.Model.ID, &llm.Error{Code: llm.CodeInvalidRequest, Model: req.Model.ID,
			Message: fmt.Sprintf("the request of input %q is %d bytes, more than an input file may hold (%d): shorten it, or send it with llm.Client.Process (deluge run)", id, size, sp.limits.MaxBytes)})
		return nil
	}
	if sp.lines+1 > sp.limits.MaxLines || sp.bytes+size > sp.limits.MaxBytes {
		if err := s.seal(sp, queue); err != nil {
			return err
		}
		if sp, err = s.open(req.Model, key.endpoint, svc); err != nil {
			return err
		}
	}
	// A repeated custom_id fails a whole file (duplicate_custom_id): IDs
	// are checked per file, by a 64-bit hash, so that the memory this
	// takes is bounded by the file's lines, not the input's.
	h := maphash.String(s.seed, id)
	if _, dup := sp.ids[h]; dup {
		s.reject(i, id, req.Model.ID, &llm.Error{Code: llm.CodeInvalidRequest, Model: req.Model.ID,
			Message: fmt.Sprintf("input #%d repeats the ID %q of an earlier input: IDs key the results (custom_id), and a file with a repeated one fails whole (duplicate_custom_id)", i+1, id)})
		return nil
	}
	sp.ids[h] = struct{}{}
	sp.h.Write(line)
	sp.h.Write(newline)
	sp.idsW.Write(quoted(id))
	sp.idsW.WriteByte('\n')
	sp.w.Write(line)
	if err := sp.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("batch: writing input file %s: %w", sp.path, err)
	}
	sp.lines++
	sp.bytes += size
	sp.runs.add(i)
	return nil
}

var newline = []byte{'\n'}

// quoted is id as a JSON string.
func quoted(id string) []byte {
	b, _ := json.Marshal(id) // a string always encodes
	return b
}

func (s *submission) reject(i int, id, model string, err error) {
	s.rejects = append(s.rejects, Rejected{ID: id, Index: i, Model: model, Code: string(llm.CodeOf(err)), Message: err.Error()})
}

// open starts a spool for the lines of model m to endpoint. Spools are
// named by the submission and their rank, so that a resumed submission
// overwrites the files a killed one left.
func (s *submission) open(m registry.Model, endpoint string, svc Service) (*spool, error) {
	s.seq++
	path := filepath.Join(s.c.spoolDir(), fmt.Sprintf(".deluge-batch-%s-%d.jsonl", s.st.ID, s.seq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("batch: creating an input file: %w (set the directory with WithSpoolDir)", err)
	}
	idsPath := strings.TrimSuffix(path, ".jsonl") + ".ids"
	idsF, err := os.OpenFile(idsPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("batch: creating an input file: %w (set the directory with WithSpoolDir)", err)
	}
	sp := &spool{model: m, endpoint: endpoint, svc: svc, limits: s.c.limits(svc), path: path, f: f, w: bufio.NewWriterSize(f, 256<<10), h: sha256.New(),
		ids: map[uint64]struct{}{}, idsPath: idsPath, idsF: idsF, idsW: bufio.NewWriterSize(idsF, 64<<10)}
	s.spools[spoolKey{m.ID, endpoint}] = sp
	s.order = append(s.order, sp)
	return sp, nil
}

// seal closes a spool, records it as the next part (or checks it against
// the part a stopped submission recorded) and queues it for upload.
func (s *submission) seal(sp *spool, queue chan<- sealed) error {
	delete(s.spools, spoolKey{sp.model.ID, sp.endpoint})
	for i, o := range s.order {
		if o == sp {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	err := sp.w.Flush()
	if cerr := sp.f.Close(); err == nil {
		err = cerr
	}
	if ferr := sp.idsW.Flush(); err == nil {
		err = ferr
	}
	if cerr := sp.idsF.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(sp.path)
		os.Remove(sp.idsPath)
		return fmt.Errorf("batch: writing input file %s: %w", sp.path, err)
	}
	if sp.lines == 0 {
		// Its only input was rejected: an empty file would fail its job.
		os.Remove(sp.path)
		os.Remove(sp.idsPath)
		return nil
	}
	n := s.next
	if err := os.Rename(sp.idsPath, s.c.idsPath(s.st, n)); err != nil {
		os.Remove(sp.path)
		os.Remove(sp.idsPath)
		return fmt.Errorf("batch: %w", err)
	}
	s.next++
	sum := hex.EncodeToString(sp.h.Sum(nil))
	path := sp.path
	s.mu.Lock()
	var p *Part
	if n <= len(s.st.Parts) {
		p = s.st.Parts[n-1]
		if p.SHA256 != sum || p.Lines != sp.lines || p.Model != sp.model.ID || p.Endpoint != sp.endpoint {
			s.mu.Unlock()
			os.Remove(path)
			return fmt.Errorf("%w: input file %d now holds %d lines for %s%s (sha256 %.12s…), where %d lines for %s%s (sha256 %.12s…) were submitted; "+
				"resume with the same input and options, or start a new submission", ErrInputChanged,
				n, sp.lines, sp.model.ID, endpointNote(sp.endpoint), sum, p.Lines, p.Model, endpointNote(p.Endpoint), p.SHA256)
		}
		if p.Stage.rank() >= StageUploaded.rank() {
			os.Remove(path)
			path = ""
		}
		s.mu.Unlock()
		if p.Created() {
			return nil
		}
	} else {
		p = &Part{N: n, Model: sp.model.ID, Name: sp.svc.Name(), Endpoint: sp.endpoint, Filename: s.st.filename(n),
			Lines: sp.lines, Bytes: sp.bytes, SHA256: sum, Indexes: sp.runs, Stage: StageBuilt}
		s.st.Parts = append(s.st.Parts, p)
		err := s.journal()
		s.mu.Unlock()
		if err != nil {
			os.Remove(path)
			return err
		}
	}
	select {
	case queue <- sealed{part: p, path: path, svc: sp.svc}:
		return nil
	case <-s.ctx.Done():
		if path != "" {
			os.Remove(path)
		}
		return context.Cause(s.ctx)
	}
}

// endpointNote names a part's endpoint in a message, when it has one.
func endpointNote(endpoint string) string {
	if endpoint == "" {
		return ""
	}
	return " (" + endpoint + ")"
}

// removeSpools deletes the files of spools still open (a failed
// submission).
func (s *submission) removeSpools() {
	for _, sp := range s.order {
		sp.f.Close()
		sp.idsF.Close()
		os.Remove(sp.path)
		os.Remove(sp.idsPath)
	}
	s.order = nil
}

// finish uploads a part (unless it is uploaded), waits until its file is
// processed and creates its job. path is its file on disk ("" when it is
// uploaded already); svc its service (nil: looked up by model).
func (s *submission) finish(p *Part, path string, svc Service) error {
	if path != "" {
		defer os.Remove(path)
	}
	if svc == nil {
		var err error
		if svc, _, err = s.c.service(p.Model); err != nil {
			return err
		}
	}
	ctx := s.ctx
	if p.Stage.rank() < StageUploaded.rank() {
		if err := s.upload(ctx, p, path, svc); err != nil {
			return s.failure(err, fmt.Sprintf("uploading input file %d (%s)", p.N, p.Filename))
		}
	}
	if err := s.waitProcessed(ctx, p, svc); err != nil {
		return s.failure(err, fmt.Sprintf("waiting for input file %d (%s) to be processed", p.N, p.FileID))
	}
	if err := s.create(ctx, p, svc); err != nil {
		return s.failure(err, fmt.Sprintf("creating the batch job of input file %d (%s)", p.N, p.FileID))
	}
	return nil
}

// failure prefixes an error with the step that failed, keeping its type.
func (s *submission) failure(err error, step string) error {
	if ctxErr := context.Cause(s.ctx); ctxErr != nil && s.ctx.Err() != nil && !errors.Is(err, ctxErr) {
		return ctxErr
	}
	var le *llm.Error
	if errors.As(err, &le) {
		return &stepError{step: step, err: err}
	}
	return fmt.Errorf("batch: %s: %w", step, err)
}

// stepError names the step a provider error happened in; it unwraps to
// the [*llm.Error].
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return "batch: " + e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// upload sends a part's file, after looking for an earlier upload whose
// reply was lost.
func (s *submission) upload(ctx context.Context, p *Part, path string, svc Service) error {
	if p.Stage == StageUploading {
		if found, err := s.adoptUpload(ctx, p, svc); err != nil || found {
			return err
		}
	}
	if path == "" {
		return fmt.Errorf("batch: input file %d is not on disk", p.N)
	}
	if err := s.update(func() { p.Stage, p.Since = StageUploading, time.Now().UTC() }); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	defer f.Close()
	var file File
	err = s.c.retry(ctx, "upload", func(attempt int) error {
		if attempt > 1 {
			if found, err := s.adoptUpload(ctx, p, svc); err != nil || found {
				if found {
					file.ID = p.FileID
				}
				return err
			}
			if _, err := f.Seek(0, 0); err != nil {
				return err
			}
		}
		var err error
		file, err = svc.UploadFile(ctx, Upload{Name: p.Filename, Content: f, Size: p.Bytes, ExpiresAfter: s.c.o.fileExpiry})
		return err
	})
	if err != nil {
		return err
	}
	if p.FileID != "" && p.Stage == StageUploaded {
		return nil // adopted on a retry
	}
	return s.update(func() { p.FileID, p.Stage = file.ID, StageUploaded })
}

// adoptUpload looks for the file of part p among the provider's files: an
// upload that reached the provider before its sender was stopped. It
// records it when found.
func (s *submission) adoptUpload(ctx context.Context, p *Part, svc Service) (bool, error) {
	f, found, err := findFile(ctx, svc, p)
	if err != nil || !found {
		return false, err
	}
	s.c.logger().Info("batch: found the upload of an earlier attempt", slog.String("file", f.ID), slog.String("filename", p.Filename))
	return true, s.update(func() { p.FileID, p.Stage = f.ID, StageUploaded })
}

// orphanSlack is how far before a request's start its result may be
// stamped: the provider's clock is not ours.
const orphanSlack = time.Hour

// maxOrphanPages bounds the search for a lost upload or job.
const maxOrphanPages = 20

func findFile(ctx context.Context, svc Service, p *Part) (File, bool, error) {
	o := ListOptions{Purpose: "batch"}
	for range maxOrphanPages {
		page, err := svc.Files(ctx, o)
		if err != nil {
			return File{}, false, err
		}
		for _, f := range page.Data {
			if f.Filename == p.Filename && (f.Bytes == 0 || f.Bytes == p.Bytes) && f.Status != FileError {
				return f, true, nil
			}
			if before(f.CreatedAt, p.Since) {
				return File{}, false, nil
			}
		}
		if !page.HasMore || page.LastID == "" {
			break
		}
		o.After = page.LastID
	}
	return File{}, false, nil
}

// before reports whether t is known and earlier than since, with slack.
func before(t, since time.Time) bool {
	return !t.IsZero() && !since.IsZero() && t.Before(since.Add(-orphanSlack))
}

// waitProcessed polls the part's file until the provider has processed
// it.
func (s *submission) waitProcessed(ctx context.Context, p *Part, svc Service) error {
	wait := s.c.o.filePoll
	maxWait := min(30*time.Second, max(s.c.o.pollInterval, s.c.o.filePoll))
	for {
		var f File
		err := s.c.retry(ctx, "file status", func(int) error {
			var err error
			f, err = svc.File(ctx, p.FileID)
			return err
		})
		if err != nil {
			return err
		}
		switch f.Status {
		case FileProcessed, "":
			return nil
		case FileError, "deleted", "deleting":
			detail := ""
			if f.StatusDetails != "" {
				detail = ": " + f.StatusDetails
			}
			return &llm.Error{Code: llm.CodeInvalidRequest, Model: p.Model,
				Message: fmt.Sprintf("the provider could not process input file %d (%s): status %q%s", p.N, f.ID, f.Status, detail)}
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, maxWait)
	}
}

// create creates the part's job, after looking for one whose reply was
// lost; with WithQuotaWait it waits for room in a full quota.
func (s *submission) create(ctx context.Context, p *Part, svc Service) error {
	if p.Stage == StageCreating {
		if found, err := s.adoptJob(ctx, p, svc); err != nil || found {
			return err
		}
	} else if err := s.update(func() { p.Stage, p.Since = StageCreating, time.Now().UTC() }); err != nil {
		return err
	}
	params := JobParams{InputFileID: p.FileID, Endpoint: p.Endpoint, OutputExpiresAfter: s.c.o.outputExpiry,
		Metadata: map[string]string{"deluge_submission": s.st.ID, "deluge_part": strconv.Itoa(p.N)}}
	var (
		job    Job
		waited time.Duration
		pause  = time.Minute
	)
	for {
		err := s.c.retry(ctx, "create job", func(attempt int) error {
			if attempt > 1 {
				if found, err := s.adoptJob(ctx, p, svc); err != nil || found {
					if found {
						job = *p.Job
					}
					return err
				}
			}
			var err error
			job, err = svc.CreateJob(ctx, params)
			return err
		})
		if err == nil {
			break
		}
		if llm.CodeOf(err) != llm.CodeQuotaExceeded || waited >= s.c.o.quotaWait {
			return err
		}
		d := min(pause, s.c.o.quotaWait-waited)
		s.c.logger().Warn("batch: the enqueued-token quota is full; waiting for running jobs to finish",
			slog.Int("part", p.N), slog.Duration("wait", d))
		if err := backoff.Sleep(ctx, d); err != nil {
			return err
		}
		waited += d
		pause *= 2
	}
	if p.Created() {
		return nil // adopted on a retry
	}
	return s.update(func() { p.JobID, p.Job, p.Stage = job.ID, &job, StageCreated })
}

// adoptJob looks for the job of part p among the provider's jobs: one
// whose input file is the part's.
func (s *submission) adoptJob(ctx context.Context, p *Part, svc Service) (bool, error) {
	o := ListOptions{Limit: 100}
	for range maxOrphanPages {
		page, err := svc.Jobs(ctx, o)
		if err != nil {
			return false, err
		}
		for _, j := range page.Data {
			if j.InputFileID == p.FileID {
				s.c.logger().Info("batch: found the job of an earlier attempt", slog.String("job", j.ID), slog.String("file", p.FileID))
				return true, s.update(func() { p.JobID, p.Job, p.Stage = j.ID, &j, StageCreated })
			}
			if before(j.CreatedAt, p.Since) {
				return false, nil
			}
		}
		if !page.HasMore || page.LastID == "" {
			break
		}
		o.After = page.LastID
	}
	return false, nil
}
