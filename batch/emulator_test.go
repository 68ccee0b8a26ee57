package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

const (
	emulatorKey = "batch-test-key-0123456789"
	batchDeploy = "gpt-4o-mini-batch"
	model       = "azure-gpt-4o-mini"
)

// fastTiming runs a batch in milliseconds.
var fastTiming = azuretest.BatchTiming{Validating: 2 * time.Millisecond, Finalizing: 2 * time.Millisecond}

// env is an emulator with a Global Batch deployment and a batch client on
// it.
type env struct {
	srv  *azuretest.Server
	prov *azurefoundry.Provider
	llm  *llm.Client
	bc   *batch.Client
}

func newEnv(t *testing.T, apiVersion string, srvOpts []azuretest.Option, opts ...batch.Option) *env {
	t.Helper()
	srvOpts = append([]azuretest.Option{azuretest.WithAPIKeys(emulatorKey), azuretest.WithBatchDeployment(batchDeploy, "gpt-4o-mini"),
		azuretest.WithDeployment("gpt-4o-mini", ""), azuretest.WithBatchTiming(fastTiming)}, srvOpts...)
	srv := azuretest.NewServer(srvOpts...)
	t.Cleanup(srv.Close)
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, APIKey: emulatorKey, APIVersion: apiVersion,
		BatchDeployments: map[string]string{model: batchDeploy}})
	require.NoError(t, err)
	c, err := llm.NewClient(model, llm.WithProviderInstance(p))
	require.NoError(t, err)
	opts = append([]batch.Option{batch.WithPollInterval(5 * time.Millisecond), batch.WithFilePollInterval(time.Millisecond),
		batch.WithSpoolDir(t.TempDir()), batch.WithMaxAttempts(3, time.Millisecond)}, opts...)
	return &env{srv: srv, prov: p, llm: c, bc: batch.New(c, opts...)}
}

// prompts yields n jobs "q000"… with prompt "question N".
func prompts(n int) iter.Seq2[string, llm.Job] {
	return func(yield func(string, llm.Job) bool) {
		for i := range n {
			if !yield(fmt.Sprintf("q%03d", i), llm.Job{Conversation: conversation.New().User(fmt.Sprintf("question %d", i))}) {
				return
			}
		}
	}
}

// collect gathers the results by ID, failing on an error.
func collect(t *testing.T, seq iter.Seq2[batch.Result, error]) map[string]batch.Result {
	t.Helper()
	out := map[string]batch.Result{}
	for r, err := range seq {
		require.NoError(t, err)
		_, dup := out[r.ID]
		require.False(t, dup, "result of %s yielded twice", r.ID)
		out[r.ID] = r
	}
	return out
}

func TestSubmitWaitCollectBothURLFamilies(t *testing.T) {
	for _, version := range []string{"v1", "2025-04-01-preview"} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t, version, nil, batch.WithFileLimits(7, 0))
			st := batch.NewState()
			var journaled []string
			e.bc = batch.New(e.llm, batch.WithPollInterval(5*time.Millisecond), batch.WithSpoolDir(t.TempDir()), batch.WithFileLimits(7, 0),
				batch.WithFilePollInterval(time.Millisecond),
				batch.WithJournal(func(s *batch.State) error {
					b, err := json.Marshal(s)
					journaled = append(journaled, string(b))
					return err
				}))
			ctx := t.Context()
			require.NoError(t, e.bc.Submit(ctx, st, prompts(20), llm.WithMaxNewTokens(50)))
			require.True(t, st.Submitted())
			require.Len(t, st.Parts, 3, "20 lines at 7 per file")
			assert.Equal(t, []int{7, 7, 6}, []int{st.Parts[0].Lines, st.Parts[1].Lines, st.Parts[2].Lines})
			assert.NotEmpty(t, journaled)

			pr, err := e.bc.Wait(ctx, st, nil)
			require.NoError(t, err)
			assert.True(t, pr.Done)
			assert.Equal(t, batch.Counts{Total: 20, Completed: 20}, pr.Counts)

			rs := collect(t, e.bc.Results(ctx, st))
			require.Len(t, rs, 20)
			m, err := registry.Lookup(model)
			require.NoError(t, err)
			for i := range 20 {
				id := fmt.Sprintf("q%03d", i)
				r := rs[id]
				require.NoError(t, r.Err, id)
				assert.Equal(t, i, r.Index, id)
				assert.Equal(t, azuretest.ExpectedReply(fmt.Sprintf("question %d", i)), r.Response.Completion, id)
				assert.Equal(t, model, r.Response.Model)
				assert.Equal(t, azurefoundry.BatchCost(m, r.Response.Usage, azurefoundry.GlobalBatch), r.Response.Cost, id)
				assert.Positive(t, r.Response.Cost)
				assert.NotNil(t, r.Response.ContentFilter, "Azure's annotations are parsed")
				assert.Equal(t, 1, r.Attempts)
			}
			// Every line carried the batch deployment and the options.
			for _, b := range e.srv.Batches() {
				assert.Equal(t, batchDeploy, b.Deployment)
			}
		})
	}
}

func TestSubmitResumesWithoutReuploading(t *testing.T) {
	e := newEnv(t, "", nil, batch.WithFileLimits(5, 0))
	ctx := t.Context()
	st := batch.NewState()
	// Stop after the first part is created: cancel while the second is
	// being uploaded.
	stop := errors.New("stopped")
	var once sync.Once
	cctx, cancel := context.WithCancelCause(ctx)
	bc := batch.New(e.llm, batch.WithSpoolDir(t.TempDir()), batch.WithFileLimits(5, 0), batch.WithFilePollInterval(time.Millisecond),
		batch.WithJournal(func(s *batch.State) error {
			if len(s.Parts) >= 2 && s.Parts[1].Stage == batch.StageUploading {
				once.Do(func() { cancel(stop) })
			}
			return nil
		}))
	err := bc.Submit(cctx, st, prompts(12))
	require.Error(t, err)
	require.NotEmpty(t, st.Parts)
	assert.Equal(t, batch.StageCreated, st.Parts[0].Stage)
	uploads := len(e.srv.Files())

	require.NoError(t, e.bc.Submit(ctx, st, prompts(12)))
	require.True(t, st.Submitted())
	require.Len(t, st.Parts, 3)
	assert.Len(t, e.srv.Batches(), 3, "one job per part, none twice")
	files := 0
	for _, f := range e.srv.Files() {
		if f.Purpose == "batch" {
			files++
		}
	}
	assert.Equal(t, 3, files, "one upload per part (%d before the resume)", uploads)

	_, err = e.bc.Wait(ctx, st, nil)
	require.NoError(t, err)
	assert.Len(t, collect(t, e.bc.Results(ctx, st)), 12)
}

func TestSubmitInputChanged(t *testing.T) {
	e := newEnv(t, "", nil, batch.WithFileLimits(5, 0))
	st := batch.NewState()
	// A state that stopped after building part 1.
	require.NoError(t, e.bc.Submit(t.Context(), st, prompts(3)))
	st.Complete = false
	st.Parts[0].Stage = batch.StageBuilt
	err := e.bc.Submit(t.Context(), st, prompts(4))
	require.ErrorIs(t, err, batch.ErrInputChanged)
}

// TestMain keeps the retries and found orphans the tests provoke out of
// the test output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// Results map back to their inputs from the IDs Submit kept on disk, else
// from the provider's copy of the input file, else by ID alone.
func TestCollectWithoutTheLocalIDs(t *testing.T) {
	e := newEnv(t, "", nil, batch.WithFileLimits(4, 0))
	st := batch.NewState()
	ctx := t.Context()
	require.NoError(t, e.bc.Submit(ctx, st, prompts(10)))
	_, err := e.bc.Wait(ctx, st, nil)
	require.NoError(t, err)
	indexes := func() map[string]int {
		out := map[string]int{}
		for id, r := range collect(t, e.bc.Results(ctx, st)) {
			require.NoError(t, r.Err)
			out[id] = r.Index
		}
		return out
	}
	want := map[string]int{}
	for i := range 10 {
		want[fmt.Sprintf("q%03d", i)] = i
	}
	assert.Equal(t, want, indexes(), "from the local IDs")

	require.NoError(t, e.bc.Clean(st))
	assert.Equal(t, want, indexes(), "from the input files on the provider")

	m, err := registry.Lookup(model)
	require.NoError(t, err)
	svc, err := e.prov.BatchService(m, batchDeploy)
	require.NoError(t, err)
	for _, p := range st.Parts {
		require.NoError(t, svc.DeleteFile(ctx, p.FileID))
	}
	got := indexes()
	require.Len(t, got, 10, "every result, by its ID")
	for id, idx := range got {
		assert.Equal(t, -1, idx, id)
	}
}
