package llm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

func TestPrepareBuildsTheRequestACallWouldSend(t *testing.T) {
	p := llmtest.New()
	c := newClient(t, p, llm.WithTemperature(0.5), llm.WithMaxNewTokens(100))
	conv := conversation.New().System("be brief").User("hello")

	got, req, err := c.Prepare(llm.Job{Conversation: conv, Options: []llm.Option{llm.WithMaxNewTokens(7)}}, llm.WithSeed(3), llm.WithMaxNewTokens(20))
	require.NoError(t, err)
	assert.Same(t, p, got, "the provider instance")
	assert.Equal(t, "test-model", req.Model.ID)
	assert.Equal(t, conv.Messages(), req.Messages)
	require.NotNil(t, req.Temperature)
	assert.Equal(t, 0.5, *req.Temperature, "the client's default")
	assert.Equal(t, 7, req.MaxNewTokens, "the job's option over the call's over the client's")
	require.NotNil(t, req.Seed)
	assert.EqualValues(t, 3, *req.Seed)

	// The request is the one Generate sends.
	_, err = c.Generate(t.Context(), conv, llm.WithSeed(3), llm.WithMaxNewTokens(7))
	require.NoError(t, err)
	sent := p.Requests()
	require.Len(t, sent, 1)
	assert.Equal(t, sent[0].Fingerprint(), req.Fingerprint())
	assert.Empty(t, p.Requests()[1:], "Prepare sent nothing")
}

func TestPrepareErrors(t *testing.T) {
	c := newClient(t, llmtest.New())
	_, _, err := c.Prepare(llm.Job{Conversation: conversation.New()})
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	_, _, err = c.Prepare(llm.Job{Conversation: conversation.New().User("x"), Options: []llm.Option{llm.WithTemperature(5)}})
	require.Error(t, err)
	_, m, err := c.ModelProvider("")
	require.NoError(t, err)
	assert.Equal(t, "test-model", m.ID)
	require.NoError(t, c.Close())
	_, _, err = c.Prepare(llm.Job{Conversation: conversation.New().User("x")})
	require.ErrorIs(t, err, llm.ErrClosed)
}
