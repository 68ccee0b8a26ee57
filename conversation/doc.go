// Package conversation holds the provider-neutral chat transcript that deluge
// sends to a model: an ordered list of messages, each with a role and a list of
// parts (text, images, files, tool calls and tool results).
//
// A [Conversation] of [Message] values, each made of [Part] values, is
// built with a chainable API:
//
//	conv := conversation.New().
//		System("You are terse.").
//		User("What is in this picture?", conversation.ImageURL("https://example.com/cat.png"))
//
// Conversations round-trip through [encoding/json]. Unmarshalling also accepts
// an OpenAI-style messages array ([{"role":"user","content":"hi"}]), so JSONL
// files written for other tools can be read directly.
//
// [Conversation.Clone] and [Message.Clone] copy what callers would otherwise
// copy by hand. The package imports only the standard library; providers
// translate a Conversation into their own wire format.
package conversation
