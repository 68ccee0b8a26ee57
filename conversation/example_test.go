package conversation_test

import (
	"encoding/json"
	"fmt"

	"github.com/deluge-go/deluge/conversation"
)

func ExampleNew() {
	conv := conversation.New().
		System("You answer in one word.").
		User("What colour is the sky?")
	for _, m := range conv.Messages() {
		fmt.Printf("%s: %s\n", m.Role, m.Text())
	}
	// Output:
	// system: You answer in one word.
	// user: What colour is the sky?
}

func ExampleConversation_UnmarshalJSON() {
	// OpenAI-style messages, as found in many JSONL datasets.
	data := []byte(`[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi!"}]`)
	var conv conversation.Conversation
	if err := json.Unmarshal(data, &conv); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(conv.Len(), conv.At(1).Text())
	// Output: 2 Hi!
}

func ExampleConversation_Validate() {
	err := conversation.New().User("look", conversation.Part{Type: conversation.PartImage}).Validate()
	fmt.Println(err)
	// Output: message 0: part 1: image part has neither URL nor data: use ImageURL or ImageData
}

func ExampleConversation_EstimateTokens() {
	conv := conversation.New().User("Summarise the plot of Hamlet in two sentences.")
	fmt.Println(conv.EstimateTokens())
	// Output: 19
}

func ExampleConversation_ToolResult() {
	conv := conversation.New().
		User("What's the weather in Oslo?").
		AssistantToolCalls("", conversation.ToolCall{ID: "call_1", Name: "weather", Arguments: `{"city":"Oslo"}`}).
		ToolResult("call_1", `{"sky":"clear"}`)
	last, _ := conv.Last()
	fmt.Println(last.Role, last.Parts[0].ToolResult.CallID)
	// Output: tool call_1
}
