package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// fakeProvider is an llm.Provider with a batch.Service whose jobs answer
// from a script: the status of each successive poll, or an error.
type fakeProvider struct {
	mu    sync.Mutex
	polls []time.Time
	steps []any // batch.Status or error, one per poll; the last repeats
}

func (f *fakeProvider) Generate(context.Context, *llm.Request) (*llm.Response, error) {
	return nil, errors.New("not used")
}

func (f *fakeProvider) BatchService(m registry.Model, name string) (batch.Service, error) {
	return &fakeService{f: f}, nil
}

type fakeService struct {
	batch.Service // unused methods panic
	f             *fakeProvider
}

func (s *fakeService) Job(ctx context.Context, id string) (batch.Job, error) {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.polls)
	f.polls = append(f.polls, time.Now())
	step := f.steps[min(n, len(f.steps)-1)]
	if err, ok := step.(error); ok {
		return batch.Job{}, err
	}
	status := step.(batch.Status)
	j := batch.Job{ID: id, Status: status, Counts: batch.Counts{Total: 10}}
	if status == batch.StatusCompleted {
		j.Counts.Completed = 10
	}
	return j, nil
}

// submitted is a State with one created job.
func submitted() *batch.State {
	st := batch.NewState()
	st.Complete = true
	st.Parts = []*batch.Part{{N: 1, Model: "fake", Lines: 10, Stage: batch.StageCreated, JobID: "batch_1",
		Job: &batch.Job{ID: "batch_1", Status: batch.StatusValidating}}}
	return st
}

func newFakeClient(t *testing.T, f *fakeProvider, opts ...batch.Option) *batch.Client {
	t.Helper()
	c, err := llm.NewClient("fake", llm.WithProviderInstance(f))
	require.NoError(t, err)
	return batch.New(c, append([]batch.Option{batch.WithLogger(slog.New(slog.DiscardHandler)), batch.WithMaxAttempts(1, time.Second)}, opts...)...)
}

func gaps(polls []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(polls); i++ {
		out = append(out, polls[i].Sub(polls[i-1]))
	}
	return out
}

// Wait polls once a minute by default, half as often again while nothing
// changes, back to a minute on a change, up to the maximum.
func TestWaitPollsOnceAMinuteWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeProvider{steps: []any{batch.StatusValidating, batch.StatusValidating, batch.StatusValidating,
			batch.StatusInProgress, batch.StatusInProgress, batch.StatusInProgress, batch.StatusInProgress, batch.StatusInProgress, batch.StatusCompleted}}
		bc := newFakeClient(t, f, batch.WithMaxPollInterval(3*time.Minute))
		var reports int
		pr, err := bc.Wait(t.Context(), submitted(), func(batch.Progress) { reports++ })
		require.NoError(t, err)
		assert.True(t, pr.Done)
		assert.Equal(t, 9, reports)
		m := time.Minute
		assert.Equal(t, []time.Duration{m, m * 3 / 2, m * 9 / 4, m, m * 3 / 2, m * 9 / 4, 3 * m, 3 * m}, fixGrowth(gaps(f.polls)))
	})
}

// fixGrowth rounds the grown intervals to the second (1.5 × 1.5 min is
// 2m15s exactly).
func fixGrowth(d []time.Duration) []time.Duration {
	for i := range d {
		d[i] = d[i].Round(time.Second)
	}
	return d
}

// A failed poll that may succeed later doubles the interval; one that
// cannot (authentication) ends the wait.
func TestWaitBacksOffOnFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unavailable := &llm.Error{Code: llm.CodeUnavailable, Message: "503"}
		f := &fakeProvider{steps: []any{unavailable, unavailable, batch.StatusCompleted}}
		bc := newFakeClient(t, f)
		_, err := bc.Wait(t.Context(), submitted(), nil)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{2 * time.Minute, 4 * time.Minute}, gaps(f.polls))

		f = &fakeProvider{steps: []any{&llm.Error{Code: llm.CodeAuthentication, Message: "401"}}}
		bc = newFakeClient(t, f)
		_, err = bc.Wait(t.Context(), submitted(), nil)
		require.ErrorIs(t, err, llm.ErrAuthentication)
		assert.Len(t, f.polls, 1)
	})
}

func TestWaitNeedsACompleteSubmission(t *testing.T) {
	st := submitted()
	st.Parts[0].Stage = batch.StageUploaded
	_, err := newFakeClient(t, &fakeProvider{steps: []any{batch.StatusCompleted}}).Wait(t.Context(), st, nil)
	require.ErrorIs(t, err, batch.ErrNotSubmitted)
}

func TestCollectNeedsAnEndedJob(t *testing.T) {
	bc := newFakeClient(t, &fakeProvider{})
	st := submitted()
	for _, err := range bc.Collect(t.Context(), st, st.Parts[0]) {
		require.ErrorIs(t, err, batch.ErrNotFinished)
	}
}

func TestRuns(t *testing.T) {
	st := batch.State{}
	require.NoError(t, jsonRoundTrip(`{"version":1,"id":"x","parts":[{"n":1,"indexes":[[0,3],[5,2]]}]}`, &st))
	r := st.Parts[0].Indexes
	assert.Equal(t, 5, r.Len())
	for k, want := range []int{0, 1, 2, 5, 6} {
		got, ok := r.At(k)
		assert.True(t, ok)
		assert.Equal(t, want, got)
	}
	_, ok := r.At(5)
	assert.False(t, ok)
	require.Error(t, jsonRoundTrip(`{"parts":[{"indexes":[[-1,3]]}]}`, &st))
}

func jsonRoundTrip(s string, v any) error {
	return decodeJSON(strings.NewReader(s), v)
}

var decodeJSON = func(r io.Reader, v any) error {
	return jsonDecoder(r).Decode(v)
}

func jsonDecoder(r io.Reader) *json.Decoder { return json.NewDecoder(r) }
