package llmtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/registry"
)

var model = registry.Model{ID: "fake-model", Provider: llmtest.ProviderName, Name: "fake-model"}

func req(text string) *llm.Request {
	return &llm.Request{Model: model, Messages: conversation.New().User(text).Messages()}
}

func TestEchoAndRecording(t *testing.T) {
	fake := llmtest.New()
	resp, err := fake.Generate(t.Context(), req("hello world"))
	require.NoError(t, err)
	assert.Equal(t, "echo: hello world", resp.Completion)
	assert.Equal(t, "stop", resp.FinishReason)
	assert.Equal(t, 3, resp.Usage.OutputTokens, "one output token per word")
	assert.Positive(t, resp.Usage.InputTokens)
	assert.Equal(t, 1, fake.Calls())
	require.NotNil(t, fake.LastRequest())
	assert.Equal(t, "hello world", llmtest.LastUserText(fake.LastRequest()))
}

func TestMaxRecordedKeepsTheNewest(t *testing.T) {
	fake := llmtest.New()
	fake.MaxRecorded = 3
	for i := range 10 {
		_, err := fake.Generate(t.Context(), req(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	rs := fake.Requests()
	require.Len(t, rs, 3)
	for i, r := range rs {
		assert.Equal(t, fmt.Sprint(7+i), llmtest.LastUserText(&r))
	}
	assert.Equal(t, 10, fake.Calls(), "calls are counted past the bound")
}

func TestRecordedRequestIsACopy(t *testing.T) {
	fake := llmtest.New()
	r := req("original")
	_, err := fake.Generate(t.Context(), r)
	require.NoError(t, err)
	r.Messages[0] = conversation.Message{Role: conversation.RoleUser, Parts: []conversation.Part{conversation.Text("mutated")}}
	assert.Equal(t, "original", llmtest.LastUserText(fake.LastRequest()))
}

func TestFailFirstThenEcho(t *testing.T) {
	fake := llmtest.New(llmtest.FailFirst(2, func(r *llm.Request) error {
		return llmtest.Error(r, llm.CodeRateLimited, 429, time.Second)
	}))
	for range 2 {
		_, err := fake.Generate(t.Context(), req("x"))
		require.ErrorIs(t, err, llm.ErrRateLimited)
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, time.Second, e.RetryAfter)
	}
	resp, err := fake.Generate(t.Context(), req("x"))
	require.NoError(t, err)
	assert.Equal(t, "echo: x", resp.Completion)
}

func TestLatencyHonoursContext(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := fake.Generate(ctx, req("x"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled) || errors.Is(err, llm.ErrCanceled), "got %v", err)
}

func TestStreamConcatenatesToTheReply(t *testing.T) {
	fake := llmtest.New()
	var text string
	var usage *llm.Usage
	for c, err := range fake.Stream(t.Context(), req("one two")) {
		require.NoError(t, err)
		text += c.Text
		if c.Usage != nil {
			usage = c.Usage
		}
	}
	assert.Equal(t, "echo: one two", text)
	require.NotNil(t, usage)
	assert.Equal(t, 3, usage.OutputTokens)
}

func TestGenerateOnlyHidesStream(t *testing.T) {
	_, ok := llmtest.GenerateOnly(llmtest.New()).(llm.Streamer)
	assert.False(t, ok)
	_, ok = any(llmtest.New()).(llm.Streamer)
	assert.True(t, ok)
}
