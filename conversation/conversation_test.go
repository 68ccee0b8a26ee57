package conversation_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
)

func TestBuilderOrderAndRoles(t *testing.T) {
	c := conversation.New().
		System("be brief").
		User("hi").
		Assistant("hello").
		User("look", conversation.ImageURL("https://example.com/a.png"))
	msgs := c.Messages()
	require.Len(t, msgs, 4)
	assert.Equal(t, []conversation.Role{"system", "user", "assistant", "user"},
		[]conversation.Role{msgs[0].Role, msgs[1].Role, msgs[2].Role, msgs[3].Role})
	assert.Equal(t, "look", msgs[3].Text())
	assert.Equal(t, conversation.PartImage, msgs[3].Parts[1].Type)
	require.NoError(t, c.Validate())
}

func TestMessagesReturnsCopy(t *testing.T) {
	c := conversation.New().User("a")
	m := c.Messages()
	m[0].Role = conversation.RoleSystem
	assert.Equal(t, conversation.RoleUser, c.At(0).Role)
}

func TestUserWithOnlyImageHasNoEmptyText(t *testing.T) {
	c := conversation.New().User("", conversation.ImageData("image/png", []byte{1, 2}))
	require.Len(t, c.At(0).Parts, 1)
	assert.Equal(t, conversation.PartImage, c.At(0).Parts[0].Type)
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		conv *conversation.Conversation
		want string
	}{
		{"empty", conversation.New(), "empty"},
		{"unknown role", conversation.FromMessages(conversation.Message{Role: "robot", Parts: []conversation.Part{conversation.Text("x")}}), `unknown role "robot"`},
		{"image without data", conversation.New().User("x", conversation.Part{Type: conversation.PartImage}), "neither URL nor data"},
		{"image data without mime", conversation.New().User("x", conversation.ImageData("", []byte{1})), "image/*"},
		// A comma would end the type early in the data: URL, losing the bytes.
		{"image data with a comma in its type", conversation.New().User("x", conversation.ImageData("image/png,x", []byte{1})), "not a media type"},
		{"file data with a bad type", conversation.New().User("x", conversation.FileData("a", "pdf please", []byte{1})), "not a media type"},
		{"tool result without id", conversation.New().User("x").ToolResult("", "out"), "call ID"},
		{"tool call in user message", conversation.FromMessages(conversation.Message{Role: conversation.RoleUser, Parts: []conversation.Part{conversation.Call("1", "f", "{}")}}), "assistant"},
		{"no content", conversation.FromMessages(conversation.Message{Role: conversation.RoleUser}), "no content"},
		{"unknown part", conversation.New().User("x", conversation.Part{Type: "video"}), `unknown part type "video"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.conv.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	c := conversation.New().
		System("sys").
		User("see", conversation.ImageData("image/png", []byte{0x89, 'P', 'N', 'G'}).WithDetail("low"), conversation.FileData("a.pdf", "application/pdf", []byte("%PDF"))).
		AssistantToolCalls("", conversation.ToolCall{ID: "call_1", Name: "weather", Arguments: `{"city":"Oslo"}`}).
		ToolResult("call_1", "sunny").
		Assistant("It is sunny.")
	data, err := json.Marshal(c)
	require.NoError(t, err)

	var back conversation.Conversation
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, c.Messages(), back.Messages())

	again, err := json.Marshal(&back)
	require.NoError(t, err)
	assert.JSONEq(t, string(data), string(again), "encoding must be stable")
}

func TestUnmarshalOpenAIMessages(t *testing.T) {
	in := `[
	 {"role":"developer","content":"be nice"},
	 {"role":"user","content":[{"type":"text","text":"what is this?"},
	   {"type":"image_url","image_url":{"url":"data:image/png;base64,AQID","detail":"high"}},
	   {"type":"image_url","image_url":{"url":"https://example.com/x.jpg"}}]},
	 {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
	 {"role":"tool","tool_call_id":"c1","content":"42"},
	 {"role":"assistant","content":"done","name":"bot"}
	]`
	var c conversation.Conversation
	require.NoError(t, json.Unmarshal([]byte(in), &c))
	require.NoError(t, c.Validate())
	m := c.Messages()
	require.Len(t, m, 5)
	assert.Equal(t, conversation.RoleSystem, m[0].Role, "developer maps to system")
	assert.Equal(t, []byte{1, 2, 3}, m[1].Parts[1].Data, "data URLs decode to inline bytes")
	assert.Equal(t, "image/png", m[1].Parts[1].MIMEType)
	assert.Equal(t, "high", m[1].Parts[1].Detail)
	assert.Equal(t, "https://example.com/x.jpg", m[1].Parts[2].URL)
	assert.Equal(t, []conversation.ToolCall{{ID: "c1", Name: "f", Arguments: "{}"}}, m[2].ToolCalls())
	assert.Equal(t, &conversation.ToolResult{CallID: "c1", Content: "42"}, m[3].Parts[0].ToolResult)
	assert.Equal(t, "bot", m[4].Name)

	var obj conversation.Conversation
	require.NoError(t, json.Unmarshal([]byte(`{"messages":[{"role":"user","content":"hi"}]}`), &obj))
	assert.Equal(t, "hi", obj.At(0).Text())
}

func TestUnmarshalErrors(t *testing.T) {
	for in, want := range map[string]string{
		`"text"`:                           "want a JSON object",
		`{"foo":1}`:                        `no "messages"`,
		`[{"role":"alien","content":"x"}]`: `message 0: unknown role "alien"`,
		`[{"role":"tool","content":"x"}]`:  "tool_call_id",
		`[{"role":"user","content":[{"type":"input_audio"}]}]`: `unsupported type "input_audio"`,
		`[{"role":"user","content":[{"type":"image_url"}]}]`:   "without url",
		`[{"role":"user","content":5}]`:                        "want a string or an array",
	} {
		var c conversation.Conversation
		err := json.Unmarshal([]byte(in), &c)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

func TestDataURL(t *testing.T) {
	assert.Equal(t, "data:image/png;base64,AQI=", conversation.ImageData("image/png", []byte{1, 2}).DataURL())
	assert.Equal(t, "https://x/y.png", conversation.ImageURL("https://x/y.png").DataURL())
}

func TestEstimateTokens(t *testing.T) {
	assert.Equal(t, 0, conversation.New().EstimateTokens())
	// 3 priming + 4 framing + ceil(11/4)=3
	assert.Equal(t, 10, conversation.New().User("hello world").EstimateTokens())
	assert.Equal(t, 3, conversation.EstimateTextTokens("日本語"), "one token per non-ASCII character")
	low := conversation.New().User("", conversation.ImageURL("u").WithDetail("low")).EstimateTokens()
	high := conversation.New().User("", conversation.ImageURL("u")).EstimateTokens()
	assert.Equal(t, 765-85, high-low)
	long := conversation.New().User(string(make([]byte, 4000))).EstimateTokens()
	assert.InDelta(t, 1000, long, 10)
}

func TestLastAndClone(t *testing.T) {
	_, ok := conversation.New().Last()
	assert.False(t, ok)
	c := conversation.New().User("a")
	d := c.Clone().Assistant("b")
	assert.Equal(t, 1, c.Len())
	assert.Equal(t, 2, d.Len())
	last, ok := d.Last()
	require.True(t, ok)
	assert.Equal(t, "b", last.Text())
}

func TestMessageCloneIsDeep(t *testing.T) {
	build := func() conversation.Message {
		return conversation.Message{Role: conversation.RoleUser, Name: "n", Parts: []conversation.Part{
			conversation.Text("hi"), conversation.ImageData("image/png", []byte{1, 2}), conversation.Call("c", "f", "{}"), conversation.Result("c", "ok"),
		}}
	}
	m := build()
	c := m.Clone()
	require.Equal(t, m, c)
	c.Parts[0].Text = "x"
	c.Parts[1].Data[0] = 9
	c.Parts[2].ToolCall.Name = "x"
	c.Parts[3].ToolResult.Content = "x"
	assert.Equal(t, build(), m, "changing the clone changed the original")
}
