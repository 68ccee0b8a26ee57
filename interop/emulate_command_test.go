package interop_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	oaiazure "github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// These tests build the real "deluge" command, start "deluge emulate" as
// a process, and drive it over loopback HTTP, as a user would: with
// openai-go's own Azure client (azure.WithEndpoint, azure.WithAPIKey) for
// chat, streaming, the Responses API and embeddings, and with deluge's own
// azure-foundry provider through llm.Client, on both URL families.

const commandKey = "interop-command-key-0123456789"

var (
	buildOnce sync.Once
	exePath   string
	buildErr  error
)

// delugeCommand builds cmd/deluge once per test binary.
func delugeCommand(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "deluge-interop-")
		if err != nil {
			buildErr = err
			return
		}
		exePath = filepath.Join(dir, "deluge")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goTool, "build", "-o", exePath, "./cmd/deluge")
		cmd.Dir = ".." // the deluge module
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/deluge: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return exePath
}

// startEmulate runs "deluge emulate" on a free loopback port and returns
// the endpoint URL it prints; the process is interrupted at cleanup.
func startEmulate(t *testing.T, args ...string) string {
	t.Helper()
	exe := delugeCommand(t)
	cmd := exec.Command(exe, append([]string{"emulate", "--addr", "127.0.0.1:0", "--api-key", commandKey,
		"--deployments", "gpt-4o,o4-mini,text-embedding-3-small"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1"}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "the first line of stdout is the endpoint")
	go io.Copy(io.Discard, stdout)
	url := strings.TrimSpace(line)
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), "endpoint %q", url)
	return url
}

// azureClient is openai-go configured with its own azure options.
func azureClient(url string) oai.Client {
	return oai.NewClient(
		oaiazure.WithEndpoint(url, "2025-04-01-preview"),
		oaiazure.WithAPIKey(commandKey),
		oaiazure.WithUnsafeAllowHTTP(),
		option.WithMaxRetries(0),
	)
}

func TestEmulateCommandWithOpenAIGoAzure(t *testing.T) {
	url := startEmulate(t)
	c := azureClient(url)
	ctx := t.Context()

	// Chat.
	cc, err := c.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("Be terse."), oai.UserMessage("Hello there")},
	})
	require.NoError(t, err)
	require.Len(t, cc.Choices, 1)
	assert.Equal(t, azuretest.ExpectedReply("Hello there"), cc.Choices[0].Message.Content)
	assert.Equal(t, "gpt-4o-2024-11-20", cc.Model)
	assert.Positive(t, cc.Usage.PromptTokens)

	// Chat, streamed, with usage on the last chunk.
	stream := c.Chat.Completions.NewStreaming(ctx, oai.ChatCompletionNewParams{
		Model:         "gpt-4o",
		Messages:      []oai.ChatCompletionMessageParamUnion{oai.UserMessage("stream this")},
		StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
	})
	var acc oai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	require.NoError(t, stream.Err())
	require.Len(t, acc.Choices, 1)
	assert.Equal(t, azuretest.ExpectedReply("stream this"), acc.Choices[0].Message.Content)
	assert.Positive(t, acc.Usage.CompletionTokens)

	// Responses.
	r, err := c.Responses.New(ctx, responses.ResponseNewParams{
		Model:        "o4-mini",
		Instructions: oai.String("Think."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: oai.String("why?")},
		Reasoning:    oai.ReasoningParam{Summary: oai.ReasoningSummaryAuto},
	})
	require.NoError(t, err)
	assert.Equal(t, responses.ResponseStatusCompleted, r.Status)
	assert.Equal(t, azuretest.ExpectedReply("why?"), r.OutputText())
	assert.Positive(t, r.Usage.OutputTokensDetails.ReasoningTokens)

	// Responses, streamed.
	rs := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{
		Model: "gpt-4o",
		Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("stream a response")},
	})
	var text strings.Builder
	last := ""
	for rs.Next() {
		ev := rs.Current()
		if ev.Type == "response.output_text.delta" {
			text.WriteString(ev.Delta)
		}
		last = ev.Type
	}
	require.NoError(t, rs.Err())
	assert.Equal(t, azuretest.ExpectedReply("stream a response"), text.String())
	assert.Equal(t, "response.completed", last)

	// Embeddings.
	e, err := c.Embeddings.New(ctx, oai.EmbeddingNewParams{
		Model: "text-embedding-3-small",
		Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta"}},
	})
	require.NoError(t, err)
	require.Len(t, e.Data, 2)
	assert.Len(t, e.Data[0].Embedding, 1536)
	want := azuretest.Embedding("text-embedding-3-small", "alpha", 0)
	assert.InDelta(t, float64(want[0]), e.Data[0].Embedding[0], 1e-6)

	// A wrong key is refused, as by Azure.
	bad := oai.NewClient(oaiazure.WithEndpoint(url, "2025-04-01-preview"), oaiazure.WithAPIKey("wrong-key-000"),
		oaiazure.WithUnsafeAllowHTTP(), option.WithMaxRetries(0))
	_, err = bad.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("x")}})
	var apiErr *oai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 401, apiErr.StatusCode)
}

func TestEmulateCommandWithDelugeProviders(t *testing.T) {
	url := startEmulate(t)
	for _, version := range []string{"v1", "2025-04-01-preview"} {
		t.Run(version, func(t *testing.T) {
			p, err := azurefoundry.New(azurefoundry.Config{Endpoint: url, APIKey: commandKey, APIVersion: version})
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			opts := []llm.ClientOption{llm.WithProviderInstance(p), llm.WithBackgroundPolling(10*time.Millisecond, 50*time.Millisecond)}

			chat, err := llm.NewClient("azure-gpt-4o", opts...)
			require.NoError(t, err)
			resp, err := chat.Generate(ctx, conversation.New().User("chat"))
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedReply("chat"), resp.Completion)
			assert.Positive(t, resp.Cost)

			var streamed strings.Builder
			for ch, err := range chat.Stream(ctx, conversation.New().User("streamed chat")) {
				require.NoError(t, err)
				streamed.WriteString(ch.Text)
			}
			assert.Equal(t, azuretest.ExpectedReply("streamed chat"), streamed.String())

			resp, err = chat.Generate(ctx, conversation.New().User("via responses"), llm.WithAPI(llm.APIResponses), llm.WithStore(true))
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedReply("via responses"), resp.Completion)
			assert.NotEmpty(t, resp.ResponseID)
			next, err := chat.Generate(ctx, conversation.New().User("and then"), llm.WithPreviousResponse(resp.ResponseID))
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedReply("and then"), next.Completion)

			bg, err := chat.Generate(ctx, conversation.New().User("in the background"), llm.WithBackground())
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedReply("in the background"), bg.Completion)

			reasoning, err := llm.NewClient("azure-o4-mini", opts...)
			require.NoError(t, err)
			var summary strings.Builder
			for ch, err := range reasoning.Stream(ctx, conversation.New().User("think aloud"), llm.WithAPI(llm.APIResponses), llm.WithReasoningSummary("auto")) {
				require.NoError(t, err)
				summary.WriteString(ch.ReasoningSummary)
			}
			assert.Equal(t, azuretest.ExpectedReasoningSummary("think aloud"), summary.String())

			emb, err := llm.NewClient("azure-text-embedding-3-small", opts...)
			require.NoError(t, err)
			out, err := emb.Embed(ctx, []string{"alpha", "beta", "alpha"}, llm.WithDimensions(32))
			require.NoError(t, err)
			require.Len(t, out.Vectors, 3)
			assert.Equal(t, azuretest.Embedding("text-embedding-3-small", "beta", 32), []float32(out.Vectors[1]))
			assert.Equal(t, 1, out.Requests)
			assert.Equal(t, 1, out.Cached)
			assert.Positive(t, out.Cost)
		})
	}
}
