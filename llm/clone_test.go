package llm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache/cachetest"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// fullRequest sets every field a request can carry.
func fullRequest() *llm.Request {
	temp, topP, seed := 0.3, 0.9, int64(7)
	return &llm.Request{
		Model: registry.Model{ID: "m", Provider: "p", Name: "dep", Regions: map[string]float64{"eastus": 1}},
		Messages: conversation.New().System("sys").
			User("look", conversation.ImageData("image/png", []byte{1, 2, 3})).
			AssistantToolCalls("", conversation.ToolCall{ID: "c1", Name: "f", Arguments: `{"a":1}`}).
			ToolResult("c1", "42").Messages(),
		Sampling: llm.Sampling{
			Temperature: &temp, TopP: &topP, Seed: &seed, MaxNewTokens: 9,
			Stop:           []string{"\n"},
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "s", Schema: []byte(`{"type":"object"}`)},
			Tools:          []llm.Tool{{Name: "f", Parameters: []byte(`{"type":"object"}`)}},
		},
	}
}

func TestRequestCloneIsDeep(t *testing.T) {
	r := fullRequest()
	c := r.Clone()
	require.Equal(t, r, c)

	c.Model.Regions["eastus"] = 9
	*c.Temperature, *c.TopP, *c.Seed = 1, 1, 1
	c.Stop[0] = "x"
	c.ResponseFormat.Schema[0] = 'X'
	c.Tools[0].Parameters[0] = 'X'
	c.Messages[1].Parts[0].Text = "changed"
	c.Messages[1].Parts[1].Data[0] = 9
	c.Messages[2].Parts[0].ToolCall.Arguments = "changed"
	c.Messages[3].Parts[0].ToolResult.Content = "changed"
	assert.Equal(t, fullRequest(), r, "changing the clone changed the original")
	assert.Nil(t, (*llm.Request)(nil).Clone())
}

func TestResponseCloneIsDeep(t *testing.T) {
	r := cachetest.FullResponse()
	c := r.Clone()
	require.Equal(t, r, c)

	c.Message.Parts[1].ToolCall.Arguments = "changed"
	c.ContentFilter.Violence.Severity = "high"
	c.ContentFilter.ProtectedMaterialCode.Citation.URL = "changed"
	c.ContentFilter.CustomBlocklists[0].ID = "changed"
	c.PromptFilter[0].Error.Code = "changed"
	c.PromptFilter[0].Hate.Severity = "high"
	c.Logprobs[0].Bytes[0] = 'X'
	c.Logprobs[0].TopLogprobs[1].Bytes[0] = 'X'
	c.Header.Set("Api-Key", "changed")
	assert.Equal(t, cachetest.FullResponse(), r, "changing the clone changed the original")
	assert.Nil(t, (*llm.Response)(nil).Clone())
}
