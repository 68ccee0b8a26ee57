// Package llmtest provides an in-memory fake [llm.Provider] ([Provider],
// made by [New]) for tests, in the spirit of [net/http/httptest]: no
// network, deterministic replies, scripted failures ([Error]), and a record
// of what was asked.
//
// By default the fake answers "echo: " followed by the last user message's
// text, with usage from the request's token estimate, so tests can assert on
// exact output:
//
//	fake := llmtest.New()
//	client, _ := llm.NewClient("test-model", llm.WithProviderInstance(fake))
//	resp, _ := client.Generate(ctx, conversation.New().User("hi"))
//	// resp.Completion == "echo: hi"
package llmtest
