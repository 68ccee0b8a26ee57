package batch_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// submitAndWait submits n prompts and waits for every job.
func submitAndWait(t *testing.T, e *env, jobs iter.Seq2[string, llm.Job]) *batch.State {
	t.Helper()
	st := batch.NewState()
	require.NoError(t, e.bc.Submit(t.Context(), st, jobs))
	_, err := e.bc.Wait(t.Context(), st, nil)
	require.NoError(t, err)
	return st
}

func TestExpiredJobYieldsWhatFinishedAndNotRunForTheRest(t *testing.T) {
	var e *env
	e = newEnv(t, "", []azuretest.Option{azuretest.WithBeforeBatchLine(func(id string, n int) {
		if n == 4 {
			e.srv.ExpireBatch(id)
		}
	})})
	st := submitAndWait(t, e, prompts(10))
	assert.Equal(t, batch.StatusExpired, st.Parts[0].Job.Status)
	rs := collect(t, e.bc.Results(t.Context(), st))
	require.Len(t, rs, 10, "one result per input")
	ok, notRun := 0, 0
	for id, r := range rs {
		if r.Err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, r.Err, batch.ErrNotRun, id)
		assert.Equal(t, llm.CodeTimeout, llm.CodeOf(r.Err), id)
		assert.Zero(t, r.Attempts, "a request never run took no attempt")
		notRun++
	}
	assert.Equal(t, 3, ok, "lines 1-3 ran")
	assert.Equal(t, 7, notRun)
}

func TestCancelledJob(t *testing.T) {
	e := newEnv(t, "", nil)
	e.srv.HoldAsync(true)
	st := batch.NewState()
	require.NoError(t, e.bc.Submit(t.Context(), st, prompts(4)))
	require.NoError(t, e.bc.Cancel(t.Context(), st))
	assert.Equal(t, batch.StatusCancelling, st.Parts[0].Job.Status)
	e.srv.HoldAsync(false)
	_, err := e.bc.Wait(t.Context(), st, nil)
	require.NoError(t, err)
	assert.Equal(t, batch.StatusCancelled, st.Parts[0].Job.Status)
	for id, r := range collect(t, e.bc.Results(t.Context(), st)) {
		require.ErrorIs(t, r.Err, batch.ErrNotRun, id)
		assert.Equal(t, llm.CodeCanceled, llm.CodeOf(r.Err), id)
	}
}

func TestNonBatchDeploymentFailsWithAdvice(t *testing.T) {
	// The lines name the standard deployment: Azure's validation fails
	// the job with invalid_request.
	e := newEnv(t, "", nil, batch.WithName("gpt-4o-mini"))
	st := submitAndWait(t, e, prompts(3))
	assert.Equal(t, batch.StatusFailed, st.Parts[0].Job.Status)
	rs := collect(t, e.bc.Results(t.Context(), st))
	require.Len(t, rs, 3)
	for id, r := range rs {
		require.ErrorIs(t, r.Err, batch.ErrNotRun, id)
		assert.Equal(t, llm.CodeInvalidRequest, llm.CodeOf(r.Err))
		assert.Contains(t, r.Err.Error(), "Global Batch")
		assert.Contains(t, r.Err.Error(), "gpt-4o-mini")
	}
}

func TestEnqueuedTokenQuotaFailsFastNamingTheQuota(t *testing.T) {
	e := newEnv(t, "", []azuretest.Option{azuretest.WithEnqueuedTokenLimit(batchDeploy, 10)})
	st := batch.NewState()
	err := e.bc.Submit(t.Context(), st, prompts(5))
	require.ErrorIs(t, err, llm.ErrQuotaExceeded)
	assert.Contains(t, err.Error(), "enqueued-token quota")
	assert.Contains(t, err.Error(), batchDeploy)
	assert.Contains(t, err.Error(), "Quotas")
	require.Len(t, st.Parts, 1)
	assert.Equal(t, batch.StageCreating, st.Parts[0].Stage, "uploaded, not created")
	assert.Empty(t, e.srv.Batches())

	// Room in the quota: the same State goes on without uploading again.
	require.NoError(t, e.srv.SetEnqueuedTokenLimit(batchDeploy, 0))
	require.NoError(t, e.bc.Submit(t.Context(), st, nil), "every file is uploaded: the jobs are not read")
	assert.Len(t, e.srv.Batches(), 1)
	assert.Equal(t, 1, uploads(e.srv.Handler))
}

func TestEnqueuedTokenQuotaWithoutFailFast(t *testing.T) {
	e := newEnv(t, "", []azuretest.Option{azuretest.WithEnqueuedTokenLimit(batchDeploy, 10), azuretest.WithBatchFailFast(false)})
	st := submitAndWait(t, e, prompts(2))
	assert.Equal(t, batch.StatusFailed, st.Parts[0].Job.Status)
	for _, r := range collect(t, e.bc.Results(t.Context(), st)) {
		require.ErrorIs(t, r.Err, llm.ErrQuotaExceeded)
		assert.Contains(t, r.Err.Error(), "token_limit_exceeded")
	}
}

func TestFailedLinesAreTypedErrors(t *testing.T) {
	e := newEnv(t, "", nil)
	jobs := func(yield func(string, llm.Job) bool) {
		_ = yield("ok", llm.Job{Conversation: conversation.New().User("hello")}) &&
			yield("filtered", llm.Job{Conversation: conversation.New().User("please " + azuretest.DefaultPromptFilterWord)})
	}
	st := submitAndWait(t, e, jobs)
	rs := collect(t, e.bc.Results(t.Context(), st))
	require.NoError(t, rs["ok"].Err)
	f := rs["filtered"]
	require.ErrorIs(t, f.Err, llm.ErrContentFiltered)
	var le *llm.Error
	require.ErrorAs(t, f.Err, &le)
	require.NotNil(t, le.ContentFilter, "the annotations of the chat path")
	assert.True(t, le.ContentFilter.Filtered())
	assert.Equal(t, 400, le.StatusCode)
	assert.NotErrorIs(t, f.Err, batch.ErrNotRun, "it ran, and failed")
	assert.Equal(t, 1, f.Attempts)
}

func TestRejectedInputs(t *testing.T) {
	e := newEnv(t, "", nil)
	jobs := func(yield func(string, llm.Job) bool) {
		_ = yield("a", llm.Job{Conversation: conversation.New().User("one")}) &&
			yield("a", llm.Job{Conversation: conversation.New().User("again")}) &&
			yield("empty", llm.Job{Conversation: conversation.New()}) &&
			yield("badopt", llm.Job{Conversation: conversation.New().User("x"), Options: []llm.Option{llm.WithTemperature(9)}}) &&
			yield("b", llm.Job{Conversation: conversation.New().User("two")})
	}
	st := submitAndWait(t, e, jobs)
	assert.Equal(t, 5, st.Inputs)
	require.Len(t, st.Rejected, 3)
	assert.Equal(t, 2, st.Parts[0].Lines)
	var got []string
	for r, err := range e.bc.Results(t.Context(), st) {
		require.NoError(t, err)
		got = append(got, fmt.Sprintf("%s@%d:%v", r.ID, r.Index, llm.CodeOf(r.Err)))
	}
	assert.Equal(t, []string{"a@1:invalid_request", "empty@2:invalid_request", "badopt@3:", "a@0:", "b@4:"}, fixBadOpt(got))
}

// fixBadOpt blanks the code of the rejected option, which is not an
// *llm.Error (an option error is a plain error: its code is "unknown").
func fixBadOpt(got []string) []string {
	for i, g := range got {
		if strings.HasPrefix(g, "badopt@") {
			got[i] = "badopt@3:"
		}
	}
	return got
}

// lossyHandler forwards requests to the emulator but, for the first
// request matching lose, drops the connection after the emulator has
// answered: the request took effect, its reply was lost.
type lossyHandler struct {
	h    http.Handler
	lose func(*http.Request) bool
	lost atomic.Int32
}

func (l *lossyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.lose(r) && l.lost.Add(1) == 1 {
		rec := httptest.NewRecorder()
		l.h.ServeHTTP(rec, r)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	l.h.ServeHTTP(w, r)
}

func TestLostRepliesAreFoundNotRepeated(t *testing.T) {
	for _, route := range []string{"/files", "/batches"} {
		t.Run(route, func(t *testing.T) {
			h := azuretest.NewHandler(azuretest.WithAPIKeys(emulatorKey), azuretest.WithBatchDeployment(batchDeploy, "gpt-4o-mini"),
				azuretest.WithBatchTiming(fastTiming))
			t.Cleanup(h.Close)
			lossy := &lossyHandler{h: h, lose: func(r *http.Request) bool {
				return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, route)
			}}
			ts := httptest.NewServer(lossy)
			t.Cleanup(ts.Close)
			p, err := azurefoundry.New(azurefoundry.Config{Endpoint: ts.URL, APIKey: emulatorKey, BatchDeployments: map[string]string{model: batchDeploy}})
			require.NoError(t, err)
			c, err := llm.NewClient(model, llm.WithProviderInstance(p))
			require.NoError(t, err)
			bc := batch.New(c, batch.WithSpoolDir(t.TempDir()), batch.WithPollInterval(5*time.Millisecond),
				batch.WithFilePollInterval(time.Millisecond), batch.WithMaxAttempts(3, time.Millisecond))
			st := batch.NewState()
			require.NoError(t, bc.Submit(t.Context(), st, prompts(3)))
			assert.EqualValues(t, 1, lossy.lost.Load(), "a reply was lost")
			assert.Equal(t, 1, uploads(h), "one upload")
			require.Len(t, h.Batches(), 1, "one job")
			assert.Equal(t, h.Batches()[0].ID, st.Parts[0].JobID)
			_, err = bc.Wait(t.Context(), st, nil)
			require.NoError(t, err)
			assert.Len(t, collect(t, bc.Results(t.Context(), st)), 3)
		})
	}
}

func TestISOTimestampsAndCapitalisedStatus(t *testing.T) {
	e := newEnv(t, "2025-04-01-preview", []azuretest.Option{azuretest.WithBatchISOTimestamps(), azuretest.WithBatchFailFast(false)})
	st := submitAndWait(t, e, prompts(3))
	j := st.Parts[0].Job
	assert.Equal(t, batch.StatusCompleted, j.Status)
	assert.False(t, j.CreatedAt.IsZero())
	assert.Equal(t, batch.Counts{Total: 3, Completed: 3}, j.Counts)
	assert.Len(t, collect(t, e.bc.Results(t.Context(), st)), 3)
}

func TestNoBatchAPI(t *testing.T) {
	c, err := llm.NewClient("fake-model", llm.WithProviderInstance(llm.ProviderFunc(func(_ context.Context, r *llm.Request) (*llm.Response, error) {
		return nil, errors.New("unused")
	})))
	require.NoError(t, err)
	bc := batch.New(c, batch.WithSpoolDir(t.TempDir()))
	err = bc.Submit(t.Context(), batch.NewState(), prompts(1))
	require.ErrorIs(t, err, batch.ErrNoBatchAPI)
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "llm.Client.Process")
}

// uploads counts the input files the emulator holds.
func uploads(h *azuretest.Handler) int {
	n := 0
	for _, f := range h.Files() {
		if f.Purpose == "batch" {
			n++
		}
	}
	return n
}

func TestSubmitRefusesInvalidOptions(t *testing.T) {
	e := newEnv(t, "", nil)
	st := batch.NewState()
	err := e.bc.Submit(t.Context(), st, prompts(2), llm.WithTemperature(3))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithTemperature")
	assert.Empty(t, st.Parts)
	assert.Zero(t, uploads(e.srv.Handler))
}
