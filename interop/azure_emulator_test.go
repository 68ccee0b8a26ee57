package interop_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	oaiazure "github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// These tests drive the emulator with the official openai-go client, on the
// classic family (its azure options) and on v1 (a plain OpenAI client whose
// base URL is {endpoint}/openai/v1/, sending the key as a bearer token, as
// Microsoft's v1 examples do): whatever the SDK sends must be understood,
// and whatever the emulator answers must decode into the SDK's types.

const interopKey = "interop-key-0123456789"

func interopServer(t *testing.T, opts ...azuretest.Option) *azuretest.Server {
	t.Helper()
	base := []azuretest.Option{
		azuretest.WithAPIKeys(interopKey),
		azuretest.WithDeployment("gpt-4o", ""),
		azuretest.WithDeployment("o4-mini", ""),
		azuretest.WithDeployment("text-embedding-3-small", ""),
		azuretest.WithBatchDeployment("gpt-4o-batch", "gpt-4o-2024-11-20"),
		azuretest.WithBatchTiming(azuretest.BatchTiming{}),
	}
	srv := azuretest.NewServer(append(base, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

type family struct {
	name   string
	client func(srv *azuretest.Server) oai.Client
}

var families = []family{
	{"classic", func(srv *azuretest.Server) oai.Client {
		return oai.NewClient(
			oaiazure.WithEndpoint(srv.URL, "2025-04-01-preview"),
			oaiazure.WithAPIKey(interopKey),
			oaiazure.WithUnsafeAllowHTTP(),
			option.WithHTTPClient(srv.Client()),
			option.WithMaxRetries(0),
		)
	}},
	{"v1", func(srv *azuretest.Server) oai.Client {
		return oai.NewClient(
			option.WithBaseURL(srv.URL+"/openai/v1/"),
			option.WithAPIKey(interopKey), // Authorization: Bearer
			option.WithHTTPClient(srv.Client()),
			option.WithMaxRetries(0),
		)
	}},
}

func batchJSONL(deployment, url string, prompts ...string) string {
	var b strings.Builder
	for i, p := range prompts {
		line, _ := json.Marshal(map[string]any{
			"custom_id": fmt.Sprintf("task-%d", i),
			"method":    "POST",
			"url":       url,
			"body":      map[string]any{"model": deployment, "messages": []map[string]string{{"role": "user", "content": p}}},
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestInteropBatchEndToEnd(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			srv := interopServer(t)
			c := f.client(srv)
			ctx := t.Context()

			input := batchJSONL("gpt-4o-batch", "/v1/chat/completions", "one", "two FILTER_PROMPT", "three")
			file, err := c.Files.New(ctx, oai.FileNewParams{
				File:         oai.File(strings.NewReader(input), "tasks.jsonl", "application/jsonl"),
				Purpose:      oai.FilePurposeBatch,
				ExpiresAfter: oai.FileNewParamsExpiresAfter{Seconds: 1209600},
			})
			require.NoError(t, err)
			assert.Equal(t, "processed", string(file.Status))
			assert.Equal(t, int64(len(input)), file.Bytes)
			assert.Equal(t, file.CreatedAt+1209600, file.ExpiresAt)

			b, err := c.Batches.New(ctx, oai.BatchNewParams{
				InputFileID:      file.ID,
				Endpoint:         "/chat/completions",
				CompletionWindow: oai.BatchNewParamsCompletionWindow24h,
				Metadata:         map[string]string{"job": "interop"},
			})
			require.NoError(t, err)
			assert.Equal(t, oai.BatchStatusValidating, b.Status)

			_, err = srv.WaitBatch(ctx, b.ID)
			require.NoError(t, err)
			b, err = c.Batches.Get(ctx, b.ID)
			require.NoError(t, err)
			require.Equal(t, oai.BatchStatusCompleted, b.Status, "errors: %+v", b.Errors)
			assert.Equal(t, int64(3), b.RequestCounts.Total)
			assert.Equal(t, int64(2), b.RequestCounts.Completed)
			assert.Equal(t, int64(1), b.RequestCounts.Failed)
			assert.Equal(t, "interop", b.Metadata["job"])

			type outLine struct {
				CustomID string `json:"custom_id"`
				Response struct {
					StatusCode int                `json:"status_code"`
					RequestID  string             `json:"request_id"`
					Body       oai.ChatCompletion `json:"body"`
				} `json:"response"`
				Error json.RawMessage `json:"error"`
			}
			read := func(id string) []outLine {
				resp, err := c.Files.Content(ctx, id)
				require.NoError(t, err)
				defer resp.Body.Close()
				var lines []outLine
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					var l outLine
					require.NoError(t, json.Unmarshal(sc.Bytes(), &l), sc.Text())
					lines = append(lines, l)
				}
				return lines
			}
			out := read(b.OutputFileID)
			require.Len(t, out, 2)
			assert.Equal(t, "task-0", out[0].CustomID)
			assert.Equal(t, 200, out[0].Response.StatusCode)
			assert.Equal(t, azuretest.ExpectedReply("one"), out[0].Response.Body.Choices[0].Message.Content)
			assert.Equal(t, "null", string(out[0].Error))
			errs := read(b.ErrorFileID)
			require.Len(t, errs, 1)
			assert.Equal(t, "task-1", errs[0].CustomID)
			assert.Equal(t, 400, errs[0].Response.StatusCode)

			page, err := c.Batches.List(ctx, oai.BatchListParams{})
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
			assert.Equal(t, b.ID, page.Data[0].ID)

			files, err := c.Files.List(ctx, oai.FileListParams{Purpose: oai.String("batch_output")})
			require.NoError(t, err)
			assert.Len(t, files.Data, 2)
			del, err := c.Files.Delete(ctx, file.ID)
			require.NoError(t, err)
			assert.True(t, del.Deleted)
			_, err = c.Files.Get(ctx, file.ID)
			require.Error(t, err)
		})
	}
}

func TestInteropResponses(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			srv := interopServer(t)
			c := f.client(srv)
			ctx := t.Context()

			r, err := c.Responses.New(ctx, responses.ResponseNewParams{
				Model:        "gpt-4o",
				Instructions: oai.String("Be terse."),
				Input:        responses.ResponseNewParamsInputUnion{OfString: oai.String("Hello there")},
			})
			require.NoError(t, err)
			assert.Equal(t, responses.ResponseStatusCompleted, r.Status)
			assert.Equal(t, azuretest.ExpectedReply("Hello there"), r.OutputText())
			assert.Equal(t, "gpt-4o-2024-11-20", r.Model)
			assert.Equal(t, int64(azuretest.PromptTokens("Be terse.", "Hello there")), r.Usage.InputTokens)

			// Chaining: the stored conversation counts in the next input.
			r2, err := c.Responses.New(ctx, responses.ResponseNewParams{
				Model:              "gpt-4o",
				PreviousResponseID: oai.String(r.ID),
				Input:              responses.ResponseNewParamsInputUnion{OfString: oai.String("And again")},
			})
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedReply("And again"), r2.OutputText())
			assert.Equal(t, int64(azuretest.PromptTokens("Hello there", azuretest.ExpectedReply("Hello there"), "And again")), r2.Usage.InputTokens)

			got, err := c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
			require.NoError(t, err)
			assert.Equal(t, r.ID, got.ID)

			// Streaming.
			stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{
				Model:     "o4-mini",
				Input:     responses.ResponseNewParamsInputUnion{OfString: oai.String("stream me please")},
				Reasoning: oai.ReasoningParam{Effort: oai.ReasoningEffortLow, Summary: oai.ReasoningSummaryAuto},
			})
			var text strings.Builder
			var types []string
			var completed responses.Response
			var seq int64 = -1
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				require.Equal(t, seq+1, ev.SequenceNumber)
				seq = ev.SequenceNumber
				switch ev.Type {
				case "response.output_text.delta":
					text.WriteString(ev.Delta)
				case "response.completed":
					completed = ev.Response
				}
			}
			require.NoError(t, stream.Err())
			assert.Equal(t, azuretest.ExpectedReply("stream me please"), text.String())
			assert.Equal(t, "response.created", types[0])
			assert.Equal(t, "response.completed", types[len(types)-1])
			assert.Equal(t, int64(64), completed.Usage.OutputTokensDetails.ReasoningTokens)
			require.Len(t, completed.Output, 2)
			assert.Equal(t, "reasoning", completed.Output[0].Type)
			assert.Equal(t, azuretest.ExpectedReasoningSummary("stream me please"), completed.Output[0].Summary[0].Text)

			// Background: queued, then completed; cancel of a held one.
			srv.HoldAsync(true)
			bg, err := c.Responses.New(ctx, responses.ResponseNewParams{
				Model:      "gpt-4o",
				Background: oai.Bool(true),
				Input:      responses.ResponseNewParamsInputUnion{OfString: oai.String("later")},
			})
			require.NoError(t, err)
			assert.Equal(t, responses.ResponseStatusQueued, bg.Status)
			cancelled, err := c.Responses.Cancel(ctx, bg.ID)
			require.NoError(t, err)
			assert.Equal(t, responses.ResponseStatusCancelled, cancelled.Status)
			srv.HoldAsync(false)
			bg2, err := c.Responses.New(ctx, responses.ResponseNewParams{
				Model:      "gpt-4o",
				Background: oai.Bool(true),
				Input:      responses.ResponseNewParamsInputUnion{OfString: oai.String("later")},
			})
			require.NoError(t, err)
			deadline := time.Now().Add(10 * time.Second)
			for bg2.Status != responses.ResponseStatusCompleted && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
				bg2, err = c.Responses.Get(ctx, bg2.ID, responses.ResponseGetParams{})
				require.NoError(t, err)
			}
			assert.Equal(t, azuretest.ExpectedReply("later"), bg2.OutputText())

			require.NoError(t, c.Responses.Delete(ctx, r.ID))
			_, err = c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
			require.Error(t, err)
		})
	}
}

func TestInteropEmbeddings(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			srv := interopServer(t)
			c := f.client(srv)
			e, err := c.Embeddings.New(context.Background(), oai.EmbeddingNewParams{
				Model:      "text-embedding-3-small",
				Input:      oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta"}},
				Dimensions: oai.Int(256),
			})
			require.NoError(t, err)
			require.Len(t, e.Data, 2)
			assert.Len(t, e.Data[1].Embedding, 256)
			want := azuretest.Embedding("text-embedding-3-small", "beta", 256)
			assert.InDelta(t, float64(want[0]), e.Data[1].Embedding[0], 1e-6)
			assert.Equal(t, int64(azuretest.CountTokens("alpha")+azuretest.CountTokens("beta")), e.Usage.PromptTokens)
		})
	}
}

func TestInteropModelsWithBearerKey(t *testing.T) {
	srv := interopServer(t)
	c := families[1].client(srv)
	page, err := c.Models.List(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, page.Data)
}
