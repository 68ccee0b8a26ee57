package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

func TestRequestWire(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	p := newProvider(t, m)
	temp := 0.0
	req := &llm.Request{
		Model: model(t, "claude-sonnet-4-5"),
		Messages: conversation.New().
			System("Be terse.").
			User("Hello").
			Assistant("Hi.").
			User("Bye").
			Messages(),
		Sampling: llm.Sampling{Temperature: &temp, MaxNewTokens: 100, Stop: []string{"END"}, User: "u-1"},
	}
	_, err := p.Generate(context.Background(), req)
	require.NoError(t, err)

	c := m.Last(t)
	assert.Equal(t, "POST", c.Method)
	assert.Equal(t, "https://api.anthropic.com/v1/messages", c.URL)
	assert.Equal(t, testKey, c.Header.Get("x-api-key"))
	assert.Empty(t, c.Header.Get("Authorization"), "a key and a token are never sent together")
	assert.Equal(t, "2023-06-01", c.Header.Get("anthropic-version"))
	assert.Equal(t, "application/json", c.Header.Get("Content-Type"))
	assert.JSONEq(t, `{
		"model": "claude-sonnet-4-5",
		"max_tokens": 100,
		"system": [{"type":"text","text":"Be terse."}],
		"messages": [
			{"role":"user","content":[{"type":"text","text":"Hello"}]},
			{"role":"assistant","content":[{"type":"text","text":"Hi."}]},
			{"role":"user","content":[{"type":"text","text":"Bye"}]}
		],
		"temperature": 0,
		"stop_sequences": ["END"],
		"metadata": {"user_id": "u-1"}
	}`, string(c.Raw), "an explicit temperature of 0 is sent")
}

func TestMaxTokensDefault(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	p := newProvider(t, m)
	for id, want := range map[string]float64{
		"claude-sonnet-4-5": 4096, // DefaultMaxTokens, below the model's 64K
		"claude-opus-4-1":   4096,
	} {
		_, err := p.Generate(context.Background(), &llm.Request{Model: model(t, id), Messages: conversation.New().User("hi").Messages()})
		require.NoError(t, err)
		assert.Equal(t, want, m.Last(t).Body["max_tokens"], id)
	}
	small := model(t, "claude-haiku-4-5")
	small.MaxOutputTokens = 1000
	_, err := p.Generate(context.Background(), &llm.Request{Model: small, Messages: conversation.New().User("hi").Messages()})
	require.NoError(t, err)
	assert.Equal(t, 1000.0, m.Last(t).Body["max_tokens"], "capped by the model's max output")
}

func TestSamplingRules(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	p := newProvider(t, m)
	temp, topP, seed := 0.7, 0.9, int64(3)
	req := &llm.Request{Model: model(t, "claude-haiku-4-5"), Messages: conversation.New().User("hi").Messages(),
		Sampling: llm.Sampling{Temperature: &temp, TopP: &topP, Seed: &seed, Logprobs: true, TopLogprobs: 3, ReasoningEffort: "high"}}
	_, err := p.Generate(context.Background(), req)
	require.NoError(t, err)
	body := m.Last(t).Body
	assert.Equal(t, 0.7, body["temperature"])
	for _, k := range []string{"top_p", "seed", "logprobs", "top_logprobs", "reasoning_effort", "thinking", "output_config"} {
		assert.NotContains(t, body, k)
	}

	req.Temperature = nil
	_, err = p.Generate(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, 0.9, m.Last(t).Body["top_p"], "top_p alone is sent")

	hot := 1.5
	req.Temperature = &hot
	before := m.Count()
	_, err = p.Generate(context.Background(), req)
	require.Error(t, err)
	assert.True(t, errors.Is(err, llm.ErrInvalidRequest))
	assert.Contains(t, err.Error(), "0–1")
	assert.Equal(t, before, m.Count(), "nothing is sent for a request Anthropic would reject")
}

func TestImagesAndDocuments(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	p := newProvider(t, m)
	msg := conversation.Message{Role: conversation.RoleUser, Parts: []conversation.Part{
		conversation.Text("What is in these?"),
		conversation.ImageData("image/png", []byte{0x89, 'P', 'N', 'G'}),
		conversation.ImageURL("https://example.com/cat.jpg"),
		conversation.ImageURL("data:image/jpeg;base64,/9j/4AAQ"),
		conversation.FileData("report.pdf", "application/pdf", []byte("%PDF-1.7")),
		conversation.FileData("notes.txt", "text/plain", []byte("plain notes")),
		conversation.FileURL("https://example.com/paper.pdf"),
	}}
	_, err := p.Generate(context.Background(), &llm.Request{Model: model(t, "claude-sonnet-4-5"), Messages: []conversation.Message{msg}})
	require.NoError(t, err)
	var body struct {
		Messages []struct {
			Content []json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	require.NoError(t, json.Unmarshal(m.Last(t).Raw, &body))
	got := body.Messages[0].Content
	require.Len(t, got, 7)
	assert.JSONEq(t, `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw=="}}`, string(got[1]))
	assert.JSONEq(t, `{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}`, string(got[2]))
	assert.JSONEq(t, `{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}}`, string(got[3]))
	assert.JSONEq(t, `{"type":"document","title":"report.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjc="}}`, string(got[4]))
	assert.JSONEq(t, `{"type":"document","title":"notes.txt","source":{"type":"text","media_type":"text/plain","data":"plain notes"}}`, string(got[5]))
	assert.JSONEq(t, `{"type":"document","source":{"type":"url","url":"https://example.com/paper.pdf"}}`, string(got[6]))

	bad := conversation.Message{Role: conversation.RoleUser, Parts: []conversation.Part{conversation.FileData("a.docx", "application/msword", []byte("x"))}}
	_, err = p.Generate(context.Background(), &llm.Request{Model: model(t, "claude-sonnet-4-5"), Messages: []conversation.Message{bad}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PDF")
}

func TestToolsAndToolResults(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	p := newProvider(t, m)
	weather := llm.Tool{Name: "get_weather", Description: "Weather in a city.", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	noArgs := llm.Tool{Name: "now", Strict: true}
	conv := conversation.New().
		User("Weather in Paris and Rome?").
		AssistantToolCalls("Checking.",
			conversation.ToolCall{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
			conversation.ToolCall{ID: "toolu_2", Name: "get_weather", Arguments: ``}).
		ToolResult("toolu_1", "sunny").
		ToolResult("toolu_2", "rain").
		User("And tomorrow?")
	for choice, want := range map[string]string{
		"":            ``,
		"auto":        ``,
		"none":        `{"type":"none"}`,
		"required":    `{"type":"any"}`,
		"get_weather": `{"type":"tool","name":"get_weather"}`,
	} {
		req := &llm.Request{Model: model(t, "claude-sonnet-4-5"), Messages: conv.Messages(),
			Sampling: llm.Sampling{Tools: []llm.Tool{weather, noArgs}, ToolChoice: choice}}
		_, err := p.Generate(context.Background(), req)
		require.NoError(t, err)
		var body struct {
			Messages   json.RawMessage `json:"messages"`
			Tools      json.RawMessage `json:"tools"`
			ToolChoice json.RawMessage `json:"tool_choice"`
		}
		require.NoError(t, json.Unmarshal(m.Last(t).Raw, &body))
		if want == "" {
			assert.Empty(t, body.ToolChoice, "choice %q", choice)
		} else {
			assert.JSONEq(t, want, string(body.ToolChoice), "choice %q", choice)
		}
		assert.JSONEq(t, `[
			{"name":"get_weather","description":"Weather in a city.","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
			{"name":"now","input_schema":{"type":"object","properties":{}},"strict":true}
		]`, string(body.Tools))
		// Tool results go in one user turn, first, followed by the user's next words.
		assert.JSONEq(t, `[
			{"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},
			{"role":"assistant","content":[
				{"type":"text","text":"Checking."},
				{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
				{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{}}
			]},
			{"role":"user","content":[
				{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"},
				{"type":"tool_result","tool_use_id":"toolu_2","content":"rain"},
				{"type":"text","text":"And tomorrow?"}
			]}
		]`, string(body.Messages))
	}

	badArgs := conversation.New().User("x").AssistantToolCalls("", conversation.ToolCall{ID: "t", Name: "now", Arguments: `[1]`}).ToolResult("t", "ok")
	_, err := p.Generate(context.Background(), &llm.Request{Model: model(t, "claude-sonnet-4-5"), Messages: badArgs.Messages(), Sampling: llm.Sampling{Tools: []llm.Tool{noArgs}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a JSON object")
}

func TestJSONOutput(t *testing.T) {
	m := newMock(t, respond(200, `{"id":"msg_2","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001",
		"content":[{"type":"tool_use","id":"toolu_9","name":"json_response","input":{"city":"Paris","temp":21}}],
		"stop_reason":"tool_use","usage":{"input_tokens":50,"output_tokens":12}}`, nil))
	p := newProvider(t, m)
	schema := []byte(`{"type":"object","properties":{"city":{"type":"string"},"temp":{"type":"number"}},"required":["city","temp"],"additionalProperties":false}`)

	// JSON mode and non-strict schemas force a tool; its input is the reply.
	for _, f := range []*llm.ResponseFormat{{Type: llm.FormatJSONObject}, {Type: llm.FormatJSONSchema, Name: "w", Schema: schema}} {
		resp, err := p.Generate(context.Background(), &llm.Request{Model: model(t, "claude-haiku-4-5"),
			Messages: conversation.New().User("Weather as JSON").Messages(), Sampling: llm.Sampling{ResponseFormat: f}})
		require.NoError(t, err)
		assert.JSONEq(t, `{"city":"Paris","temp":21}`, resp.Completion)
		assert.Equal(t, "stop", resp.FinishReason)
		assert.Empty(t, resp.Message.ToolCalls())
		body := m.Last(t).Body
		assert.Equal(t, map[string]any{"type": "tool", "name": "json_response"}, body["tool_choice"])
		tools := body["tools"].([]any)
		require.Len(t, tools, 1)
		assert.Equal(t, "json_response", tools[0].(map[string]any)["name"])
	}

	// A strict schema uses structured outputs.
	_, err := p.Generate(context.Background(), &llm.Request{Model: model(t, "claude-haiku-4-5"),
		Messages: conversation.New().User("Weather as JSON").Messages(),
		Sampling: llm.Sampling{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: schema, Strict: true}}})
	require.NoError(t, err)
	var body struct {
		OutputConfig json.RawMessage `json:"output_config"`
		Tools        json.RawMessage `json:"tools"`
	}
	require.NoError(t, json.Unmarshal(m.Last(t).Raw, &body))
	assert.JSONEq(t, `{"format":{"type":"json_schema","schema":`+string(schema)+`}}`, string(body.OutputConfig))
	assert.Empty(t, body.Tools)

	// JSON mode with tools cannot be expressed: a clear error, nothing sent.
	before := m.Count()
	_, err = p.Generate(context.Background(), &llm.Request{Model: model(t, "claude-haiku-4-5"),
		Messages: conversation.New().User("x").Messages(),
		Sampling: llm.Sampling{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}, Tools: []llm.Tool{{Name: "now"}}}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, llm.ErrInvalidRequest))
	assert.Equal(t, before, m.Count())
}

func TestRequestNotModifiedAndWireName(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	p, err := newEndpointProvider(m, "my-claude")
	require.NoError(t, err)
	req := &llm.Request{Model: model(t, "claude-opus-4-5"), Messages: conversation.New().User("hi").Messages()}
	_, err = p.Generate(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "my-claude", m.Last(t).Body["model"])
	assert.Equal(t, "claude-opus-4-5", req.Model.Name)
}

func TestEmptyToolResult(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	conv := conversation.New().User("x").AssistantToolCalls("", conversation.ToolCall{ID: "t1", Name: "now"}).ToolResult("t1", "")
	_, err := newProvider(t, m).Generate(context.Background(), &llm.Request{Model: model(t, "claude-haiku-4-5"), Messages: conv.Messages(),
		Sampling: llm.Sampling{Tools: []llm.Tool{{Name: "now"}}}})
	require.NoError(t, err)
	msgs := m.Last(t).Body["messages"].([]any)
	assert.Equal(t, map[string]any{"type": "tool_result", "tool_use_id": "t1"}, msgs[2].(map[string]any)["content"].([]any)[0])
}
