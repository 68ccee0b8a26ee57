package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
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

// Batch jobs of Responses API requests, end to end against the emulator,
// which runs each line through its Responses handler: a Responses-only
// model (azure-o3-pro) and a chat model sent there with
// llm.WithAPI(llm.APIResponses), on both URL families.

const (
	responsesModel  = "azure-o3-pro"
	responsesDeploy = "o3-pro-batch"
)

// newResponsesEnv is newEnv with a Global Batch deployment of o3-pro too.
func newResponsesEnv(t *testing.T, apiVersion string, srvOpts ...azuretest.Option) *env {
	t.Helper()
	srvOpts = append([]azuretest.Option{azuretest.WithAPIKeys(emulatorKey),
		azuretest.WithBatchDeployment(batchDeploy, "gpt-4o-mini"), azuretest.WithBatchDeployment(responsesDeploy, "o3-pro"),
		azuretest.WithBatchTiming(fastTiming)}, srvOpts...)
	srv := azuretest.NewServer(srvOpts...)
	t.Cleanup(srv.Close)
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, APIKey: emulatorKey, APIVersion: apiVersion,
		BatchDeployments: map[string]string{model: batchDeploy, responsesModel: responsesDeploy}})
	require.NoError(t, err)
	c, err := llm.NewClient(model, llm.WithProviderInstance(p))
	require.NoError(t, err)
	return &env{srv: srv, prov: p, llm: c, bc: batch.New(c, batch.WithPollInterval(5*time.Millisecond), batch.WithFilePollInterval(time.Millisecond),
		batch.WithSpoolDir(t.TempDir()), batch.WithMaxAttempts(3, time.Millisecond))}
}

// jobsFor yields n jobs "<prefix>NN" for model with opts, prompt
// "<prefix> question N".
func jobsFor(prefix, modelID string, n int, opts ...llm.Option) iter.Seq2[string, llm.Job] {
	return func(yield func(string, llm.Job) bool) {
		for i := range n {
			j := llm.Job{Conversation: conversation.New().User(fmt.Sprintf("%s question %d", prefix, i)), Model: modelID, Options: opts}
			if !yield(fmt.Sprintf("%s%02d", prefix, i), j) {
				return
			}
		}
	}
}

func concat(seqs ...iter.Seq2[string, llm.Job]) iter.Seq2[string, llm.Job] {
	return func(yield func(string, llm.Job) bool) {
		for _, s := range seqs {
			for id, j := range s {
				if !yield(id, j) {
					return
				}
			}
		}
	}
}

func TestResponsesOnlyModelBothURLFamilies(t *testing.T) {
	// 2024-10-21 predates the Responses API: a Responses-only model's
	// batch jobs use 2025-04-01-preview, as its synchronous calls do.
	for _, version := range []string{"v1", "2025-04-01-preview", "2024-10-21"} {
		t.Run(version, func(t *testing.T) {
			e := newResponsesEnv(t, version)
			ctx := t.Context()
			st := batch.NewState()
			require.NoError(t, e.bc.Submit(ctx, st, jobsFor("r", responsesModel, 5), llm.WithReasoningSummary("auto"), llm.WithMaxNewTokens(400)))
			require.Len(t, st.Parts, 1)
			p := st.Parts[0]
			assert.Equal(t, responsesModel, p.Model)
			assert.Equal(t, responsesDeploy, p.Name)
			assert.Equal(t, "/v1/responses", p.Endpoint)
			_, err := e.bc.Wait(ctx, st, nil)
			require.NoError(t, err)
			jobs := e.srv.Batches()
			require.Len(t, jobs, 1)
			assert.Equal(t, "/v1/responses", jobs[0].Endpoint)
			assert.Equal(t, responsesDeploy, jobs[0].Deployment)

			m, err := registry.Lookup(responsesModel)
			require.NoError(t, err)
			rs := collect(t, e.bc.Results(ctx, st))
			require.Len(t, rs, 5)
			for i := range 5 {
				id, prompt := fmt.Sprintf("r%02d", i), fmt.Sprintf("r question %d", i)
				r := rs[id]
				require.NoError(t, r.Err, id)
				assert.Equal(t, i, r.Index)
				resp := r.Response
				assert.Equal(t, azuretest.ExpectedReply(prompt), resp.Completion, id)
				assert.Equal(t, azuretest.ExpectedReasoningSummary(prompt), resp.ReasoningSummary, id)
				assert.Equal(t, "stop", resp.FinishReason)
				assert.Equal(t, "completed", resp.Status)
				assert.True(t, strings.HasPrefix(resp.ResponseID, "resp_"), resp.ResponseID)
				assert.Positive(t, resp.Usage.ReasoningTokens, "reasoning tokens are counted")
				assert.Equal(t, responsesModel, resp.Model)
				assert.Equal(t, azurefoundry.BatchCost(m, resp.Usage, azurefoundry.GlobalBatch), resp.Cost, id)
				assert.Positive(t, resp.Cost)
				require.NotNil(t, resp.ContentFilter, "Azure's content_filters are parsed")
				assert.NotEmpty(t, resp.PromptFilter)
				assert.Equal(t, 1, r.Attempts)
			}
		})
	}
}

// WithAPI(APIResponses) sends a chat model's prompts to the Responses API;
// in one submission with chat prompts of the same model, each API gets
// files and jobs of its own (a file holds one url).
func TestWithAPIResponsesSplitsFilesPerEndpoint(t *testing.T) {
	for _, version := range []string{"v1", "2025-03-01-preview"} {
		t.Run(version, func(t *testing.T) {
			e := newResponsesEnv(t, version)
			e.bc = batch.New(e.llm, batch.WithPollInterval(5*time.Millisecond), batch.WithFilePollInterval(time.Millisecond),
				batch.WithSpoolDir(t.TempDir()), batch.WithFileLimits(3, 0))
			ctx := t.Context()
			weather := llm.Tool{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}
			// Interleaved: chat, responses, chat, responses, …
			mixed := func(yield func(string, llm.Job) bool) {
				for i := range 4 {
					if !yield(fmt.Sprintf("c%02d", i), llm.Job{Conversation: conversation.New().User(fmt.Sprintf("chat question %d", i))}) {
						return
					}
					job := llm.Job{Conversation: conversation.New().User(fmt.Sprintf("responses question %d", i)), Options: []llm.Option{llm.WithAPI(llm.APIResponses)}}
					if i == 3 {
						job.Conversation = conversation.New().User("please call get_weather for Paris")
						job.Options = append(job.Options, llm.WithTools(weather))
					}
					if !yield(fmt.Sprintf("r%02d", i), job) {
						return
					}
				}
			}
			st := batch.NewState()
			require.NoError(t, e.bc.Submit(ctx, st, mixed, llm.WithMaxNewTokens(100)))
			// 4 chat lines at 3 per file, 4 Responses lines at 3 per file.
			require.Len(t, st.Parts, 4)
			endpoints := map[string]int{}
			for _, p := range st.Parts {
				endpoints[p.Endpoint] += p.Lines
				assert.Equal(t, model, p.Model)
			}
			assert.Equal(t, map[string]int{"": 4, "/v1/responses": 4}, endpoints)
			_, err := e.bc.Wait(ctx, st, nil)
			require.NoError(t, err)
			created := map[string]int{}
			for _, j := range e.srv.Batches() {
				created[j.Endpoint]++
				assert.Equal(t, batchDeploy, j.Deployment)
			}
			assert.Equal(t, map[string]int{"/chat/completions": 2, "/v1/responses": 2}, created)

			rs := collect(t, e.bc.Results(ctx, st))
			require.Len(t, rs, 8)
			for i := range 4 {
				c := rs[fmt.Sprintf("c%02d", i)]
				require.NoError(t, c.Err)
				assert.Equal(t, 2*i, c.Index)
				assert.Equal(t, azuretest.ExpectedReply(fmt.Sprintf("chat question %d", i)), c.Response.Completion)
				assert.Empty(t, c.Response.ResponseID, "a chat completion")
				r := rs[fmt.Sprintf("r%02d", i)]
				require.NoError(t, r.Err)
				assert.Equal(t, 2*i+1, r.Index)
				assert.True(t, strings.HasPrefix(r.Response.ResponseID, "resp_"), "a response object")
				if i < 3 {
					assert.Equal(t, azuretest.ExpectedReply(fmt.Sprintf("responses question %d", i)), r.Response.Completion)
					continue
				}
				assert.Equal(t, "tool_calls", r.Response.FinishReason)
				calls := r.Response.Message.ToolCalls()
				require.Len(t, calls, 1)
				assert.Equal(t, "get_weather", calls[0].Name)
				assert.JSONEq(t, `{"city":"example"}`, calls[0].Arguments, "the emulator fills the schema")
			}
		})
	}
}

// The content filter and the typed errors of Responses API lines.
func TestResponsesLinesFilteredAndFailed(t *testing.T) {
	e := newResponsesEnv(t, "", azuretest.WithContentFilterWords("forbidden-prompt", "forbidden-reply"))
	jobs := func(yield func(string, llm.Job) bool) {
		for id, q := range map[string]string{"ok": "fine question", "prompt": "a forbidden-prompt question", "reply": "echo forbidden-reply"} {
			if !yield(id, llm.Job{Conversation: conversation.New().User(q), Model: responsesModel}) {
				return
			}
		}
	}
	st := submitAndWait(t, e, jobs)
	rs := collect(t, e.bc.Results(t.Context(), st))
	require.Len(t, rs, 3)
	require.NoError(t, rs["ok"].Err)
	assert.Equal(t, azuretest.ExpectedReply("fine question"), rs["ok"].Response.Completion)

	require.ErrorIs(t, rs["prompt"].Err, llm.ErrContentFiltered, "a filtered prompt is a typed error")
	assert.NotErrorIs(t, rs["prompt"].Err, batch.ErrNotRun)
	assert.Equal(t, 1, rs["prompt"].Attempts)

	// A completion stopped by the filter: an incomplete response whose
	// text ends before the filtered word, as a synchronous call gets it.
	reply := rs["reply"]
	require.NoError(t, reply.Err)
	assert.Equal(t, llm.FinishContentFilter, reply.Response.FinishReason)
	assert.Equal(t, "incomplete", reply.Response.Status)
	assert.NotContains(t, reply.Response.Completion, "forbidden-reply")
	require.NotNil(t, reply.Response.ContentFilter)
}

// Options a batch line cannot carry are refused, for the whole call when
// given to Submit, for the input when a job has them.
func TestResponsesOptionsABatchRefuses(t *testing.T) {
	e := newResponsesEnv(t, "")
	ctx := t.Context()
	err := e.bc.Submit(ctx, batch.NewState(), jobsFor("r", responsesModel, 2), llm.WithBackground())
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "WithBackground")
	assert.Empty(t, e.srv.Files(), "nothing uploaded")

	jobs := concat(jobsFor("a", responsesModel, 2),
		jobsFor("p", responsesModel, 1, llm.WithPreviousResponse("resp_earlier")),
		jobsFor("b", responsesModel, 1, llm.WithBackground()),
		jobsFor("c", model, 1, llm.WithAPI(llm.APIResponses), llm.WithStop("END")),
		jobsFor("d", responsesModel, 1, llm.WithAPI(llm.APIChat)))
	st := submitAndWait(t, e, jobs)
	require.Len(t, st.Rejected, 4)
	rs := collect(t, e.bc.Results(ctx, st))
	require.Len(t, rs, 6)
	for _, id := range []string{"a00", "a01"} {
		require.NoError(t, rs[id].Err, id)
	}
	for id, want := range map[string]string{"p00": "WithPreviousResponse", "b00": "WithBackground", "c00": "stop sequences", "d00": "only by the Responses API"} {
		r := rs[id]
		require.ErrorIs(t, r.Err, llm.ErrInvalidRequest, id)
		require.ErrorIs(t, r.Err, batch.ErrNotRun, id)
		assert.Contains(t, r.Err.Error(), want, id)
	}
	assert.Equal(t, 2, e.srv.Batches()[0].Total, "only the valid lines were uploaded")
}

// A chat model's Responses lines on a classic api-version that predates
// the Responses API stop the submission with what to configure; Azure's
// batch API has no embeddings.
func TestResponsesConfigurationErrors(t *testing.T) {
	e := newResponsesEnv(t, "2024-10-21")
	err := e.bc.Submit(t.Context(), batch.NewState(), jobsFor("r", model, 2, llm.WithAPI(llm.APIResponses)))
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "2025-03-01-preview")
	assert.Empty(t, e.srv.Files())

	err = e.bc.Submit(t.Context(), batch.NewState(), jobsFor("e", "azure-text-embedding-3-small", 1))
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "embeddings")
	assert.Contains(t, err.Error(), "Embed")

	// Check says so without sending anything.
	require.NoError(t, e.bc.Check(""))
	require.NoError(t, e.bc.Check(responsesModel))
	require.ErrorIs(t, e.bc.Check("azure-text-embedding-3-small"), llm.ErrConfiguration)
	require.ErrorIs(t, e.bc.Check("azure-claude-opus-4-6"), llm.ErrConfiguration)
	assert.Zero(t, e.srv.Requests(), "no request sent")
	assert.Empty(t, e.srv.Files())
}

// A submission of both APIs stopped between two parts resumes without
// uploading or creating anything twice.
func TestResponsesSubmissionResumes(t *testing.T) {
	e := newResponsesEnv(t, "")
	ctx := t.Context()
	mixed := concat(jobsFor("c", model, 4), jobsFor("r", responsesModel, 4), jobsFor("w", model, 2, llm.WithAPI(llm.APIResponses)))
	newClient := func(opts ...batch.Option) *batch.Client {
		return batch.New(e.llm, append([]batch.Option{batch.WithSpoolDir(t.TempDir()), batch.WithFileLimits(3, 0),
			batch.WithFilePollInterval(time.Millisecond), batch.WithPollInterval(5 * time.Millisecond)}, opts...)...)
	}
	st := batch.NewState()
	stop := errors.New("stopped")
	cctx, cancel := context.WithCancelCause(ctx)
	bc := newClient(batch.WithJournal(func(s *batch.State) error {
		if len(s.Parts) >= 2 && s.Parts[1].Stage == batch.StageUploading {
			cancel(stop)
		}
		return nil
	}))
	require.Error(t, bc.Submit(cctx, st, mixed))
	require.False(t, st.Submitted())

	// The state goes through JSON, as the CLI keeps it.
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var back batch.State
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, batch.StateVersion, back.Version)

	resume := newClient()
	require.NoError(t, resume.Submit(ctx, &back, mixed))
	require.True(t, back.Submitted())
	// c: 4 lines at 3 per file; r: 4 lines (o3-pro, /v1/responses); w: 2
	// lines (gpt-4o-mini, /v1/responses).
	require.Len(t, back.Parts, 5)
	assert.Len(t, e.srv.Batches(), 5, "one job per part, none twice")
	uploads := 0
	for _, f := range e.srv.Files() {
		if f.Purpose == "batch" {
			uploads++
		}
	}
	assert.Equal(t, 5, uploads, "one upload per part")
	_, err = resume.Wait(ctx, &back, nil)
	require.NoError(t, err)
	rs := collect(t, resume.Results(ctx, &back))
	require.Len(t, rs, 10)
	for id, r := range rs {
		require.NoError(t, r.Err, id)
		assert.Equal(t, strings.HasPrefix(id, "c"), r.Response.ResponseID == "", "%s: the API it was sent to", id)
	}
}

// A submission resumed with its prompts sent to another API is refused
// as an input that changed, naming the endpoint.
func TestResponsesSubmissionAPIChanged(t *testing.T) {
	e := newResponsesEnv(t, "")
	st := batch.NewState()
	require.NoError(t, e.bc.Submit(t.Context(), st, jobsFor("w", model, 2, llm.WithAPI(llm.APIResponses))))
	require.Len(t, st.Parts, 1)
	assert.Equal(t, "/v1/responses", st.Parts[0].Endpoint)
	// A state that stopped after building its part.
	st.Complete = false
	st.Parts[0].Stage = batch.StageBuilt
	err := e.bc.Submit(t.Context(), st, jobsFor("w", model, 2))
	require.ErrorIs(t, err, batch.ErrInputChanged)
	assert.Contains(t, err.Error(), "(/v1/responses)")
}
