package batch

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// StateVersion is the version of the [State] format this package writes.
// Version 2 added [Part.Endpoint]; a version 1 State reads as one whose
// parts all go to their Service's default endpoint (chat completions).
const StateVersion = 2

// State is the record of one submission: what was read, uploaded and
// created, and the last known state of each job. It is all the [Client]
// needs to resume a submission that stopped (a crash, a kill), to track
// its jobs and to collect their results, and it is plain JSON: persist it
// with [WithJournal] and load it back with encoding/json.
//
// A State belongs to one submission and one goroutine at a time.
type State struct {
	// Version is the State's format (see [StateVersion]).
	Version int `json:"version"`
	// ID names the submission; its input files are called
	// "deluge-<ID>-<part>.jsonl".
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	// Complete is set once the input was read to its end: every part is
	// in Parts.
	Complete bool `json:"complete"`
	// Inputs counts the inputs read (when Complete).
	Inputs int `json:"inputs"`
	// Parts are the input files, in the order they were sealed.
	Parts []*Part `json:"parts"`
	// Rejected are the inputs that were not submitted (an invalid
	// conversation or option, a repeated ID, a request too large for a
	// file), with their error; [Client.Results] yields them.
	Rejected []Rejected `json:"rejected,omitempty"`
}

// NewState returns the State of a new submission.
func NewState() *State {
	var b [8]byte
	rand.Read(b[:])
	return &State{Version: StateVersion, ID: hex.EncodeToString(b[:]), CreatedAt: time.Now().UTC().Truncate(time.Second)}
}

// Part is one input file of a submission and its job.
type Part struct {
	// N is the part's number, from 1.
	N int `json:"n"`
	// Model is the model ID its lines are for; Name the model name they
	// carry (an Azure deployment).
	Model string `json:"model"`
	Name  string `json:"name"`
	// Endpoint is the endpoint its lines go to ("/v1/responses"), when
	// its Service has several ([Endpointer]); "" is the Service's default.
	Endpoint string `json:"endpoint,omitempty"`
	// Filename is the name the file is uploaded under.
	Filename string `json:"filename"`
	Lines    int    `json:"lines"`
	Bytes    int64  `json:"bytes"`
	// SHA256 is the digest of the file, to check that a resumed
	// submission rebuilt the same file.
	SHA256 string `json:"sha256"`
	// Indexes are the positions, in the submitted sequence, of the
	// part's lines, in file order.
	Indexes Runs `json:"indexes"`
	// Stage is how far the part went; Since when its current request was
	// started (the lower bound of the search for a request whose reply
	// was lost).
	Stage Stage     `json:"stage"`
	Since time.Time `json:"since,omitzero"`
	// FileID is the uploaded file; JobID the job created on it, and Job
	// its last known state.
	FileID string `json:"file_id,omitempty"`
	JobID  string `json:"job_id,omitempty"`
	Job    *Job   `json:"job,omitempty"`
}

// Stage is how far a part went. Each request that changes the provider's
// state is journaled before it is sent (Uploading, Creating), so that a
// restarted submission knows to look for what that request may have done
// before sending it again.
type Stage string

// Stages of a part, in order.
const (
	StageBuilt     Stage = "built"
	StageUploading Stage = "uploading"
	StageUploaded  Stage = "uploaded"
	StageCreating  Stage = "creating"
	StageCreated   Stage = "created"
)

// rank orders the stages.
func (s Stage) rank() int {
	switch s {
	case StageUploading:
		return 1
	case StageUploaded:
		return 2
	case StageCreating:
		return 3
	case StageCreated:
		return 4
	}
	return 0
}

// Created reports whether the part's job exists.
func (p *Part) Created() bool { return p.Stage == StageCreated }

// Terminal reports whether the part's job has ended.
func (p *Part) Terminal() bool { return p.Created() && p.Job != nil && p.Job.Status.Terminal() }

// Rejected is an input that was not submitted.
type Rejected struct {
	// ID is the input's ID, Index its position in the input (from 0).
	ID    string `json:"id"`
	Index int    `json:"index"`
	// Model is the model ID the input was for, when known.
	Model string `json:"model,omitempty"`
	// Code and Message say why: the llm.Code of the refusal, and what to
	// fix.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Run is a range of consecutive positions: Start, Start+1, …, Start+N-1.
type Run struct{ Start, N int }

// Runs lists positions as ranges; as JSON, [[start, n], …].
type Runs []Run

// add appends position i.
func (r *Runs) add(i int) {
	if n := len(*r); n > 0 {
		last := &(*r)[n-1]
		if last.Start+last.N == i {
			last.N++
			return
		}
	}
	*r = append(*r, Run{Start: i, N: 1})
}

// Len returns how many positions r holds.
func (r Runs) Len() int {
	n := 0
	for _, run := range r {
		n += run.N
	}
	return n
}

// At returns the k-th position.
func (r Runs) At(k int) (int, bool) {
	for _, run := range r {
		if k < run.N {
			return run.Start + k, true
		}
		k -= run.N
	}
	return 0, false
}

// MarshalJSON writes [[start, n], …].
func (r Runs) MarshalJSON() ([]byte, error) {
	out := make([][2]int, len(r))
	for i, run := range r {
		out[i] = [2]int{run.Start, run.N}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads [[start, n], …].
func (r *Runs) UnmarshalJSON(b []byte) error {
	var in [][2]int
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*r = make(Runs, len(in))
	for i, v := range in {
		if v[1] < 0 || v[0] < 0 {
			return fmt.Errorf("batch: invalid index run %v", v)
		}
		(*r)[i] = Run{Start: v[0], N: v[1]}
	}
	return nil
}

// Counts returns the request counts of the parts' last known jobs.
func (s *State) Counts() Counts {
	var c Counts
	for _, p := range s.Parts {
		if p.Job != nil {
			c = c.Add(p.Job.Counts)
		}
	}
	return c
}

// Lines returns the lines of all the parts.
func (s *State) Lines() int {
	n := 0
	for _, p := range s.Parts {
		n += p.Lines
	}
	return n
}

// Submitted reports whether the submission is complete: the input read to
// its end, and every part's job created.
func (s *State) Submitted() bool {
	if !s.Complete {
		return false
	}
	for _, p := range s.Parts {
		if !p.Created() {
			return false
		}
	}
	return true
}

// Done reports whether every job of a complete submission has ended.
func (s *State) Done() bool {
	if !s.Submitted() {
		return false
	}
	for _, p := range s.Parts {
		if !p.Terminal() {
			return false
		}
	}
	return true
}

// filename is the upload name of part n.
func (s *State) filename(n int) string {
	return fmt.Sprintf("deluge-%s-%d.jsonl", s.ID, n)
}
