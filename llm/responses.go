package llm

import (
	"strconv"

	"github.com/deluge-go/deluge/registry"
)

// API is a wire API a provider may speak for a model: OpenAI's and Azure's
// chat completions, or their Responses API. A model declares its own in
// [registry.Model.APISpec] ("chat", "responses"); a model that is served by
// both (gpt-4o, gpt-5, o3 on Azure and OpenAI) can be sent either way with
// [WithAPI]. Models served only by the Responses API (gpt-5-codex, o3-pro,
// gpt-5-pro, codex-mini, …) declare "responses" and need nothing.
type API int

// The wire APIs.
const (
	// APIAuto follows the model's APISpec (chat completions when it has
	// none).
	APIAuto API = iota
	// APIChat is the chat completions API (POST …/chat/completions).
	APIChat
	// APIResponses is the Responses API (POST …/responses).
	APIResponses
)

// String returns "auto", "chat" or "responses".
func (a API) String() string {
	switch a {
	case APIAuto:
		return "auto"
	case APIChat:
		return "chat"
	case APIResponses:
		return "responses"
	}
	return "API(" + strconv.Itoa(int(a)) + ")"
}

// WithAPI sends the call through the given wire API, for models served by
// more than one (see [API]). Providers that speak one API for a model
// (Anthropic's Messages API) ignore it; a model served only by the
// Responses API cannot be sent as a chat completion, and the provider says
// so without sending anything.
func WithAPI(api API) Option {
	return func(o *callOptions) {
		switch api {
		case APIAuto, APIChat, APIResponses:
			o.sampling.API = api
		default:
			o.fail("WithAPI(%v): want APIAuto, APIChat or APIResponses", api)
		}
	}
}

// WithReasoningSummary asks a reasoning model for a summary of its
// reasoning (Responses API: reasoning.summary), returned in
// [Response.ReasoningSummary] and streamed in [Chunk.ReasoningSummary]:
// "auto", "concise" or "detailed". Models may give none; chat completions
// ignore it.
func WithReasoningSummary(level string) Option {
	return func(o *callOptions) {
		switch level {
		case "auto", "concise", "detailed":
			o.sampling.ReasoningSummary = level
		default:
			o.fail("WithReasoningSummary(%q): want auto, concise or detailed", level)
		}
	}
}

// WithPreviousResponse continues the stored response id
// ([Response.ResponseID]) on the Responses API (previous_response_id):
// the server prepends that response's input and output to the call's
// conversation, which then holds only the new turn. The previous response
// must have been stored ([WithStore]); its instructions (system message)
// are not carried over. The call goes through the Responses API whatever
// the model's APISpec, unless [WithAPI] says otherwise.
func WithPreviousResponse(id string) Option {
	return func(o *callOptions) {
		if id == "" {
			o.fail("WithPreviousResponse: empty response ID")
			return
		}
		o.sampling.PreviousResponseID = id
	}
}

// WithStore says whether the server keeps the response (Responses API:
// store). deluge sends "store": false unless told otherwise, because the
// server's default (true, on Azure and OpenAI alike) keeps every prompt
// and reply of a batch for 30 days; store the responses a later call will
// continue ([WithPreviousResponse]) or read. [WithBackground] needs it and
// implies it.
func WithStore(store bool) Option {
	return func(o *callOptions) { o.sampling.Store = &store }
}

// WithBackground runs the call in the background (Responses API:
// background: true, which needs the response stored): the server answers
// at once with a queued response, and the [Client] polls it (see
// [WithBackgroundPolling]) until it is done, holding the call's
// concurrency slot meanwhile; canceling the call's context cancels the
// response on the server. It suits long reasoning jobs (o3-pro, gpt-5-pro)
// that would outlast a connection. Each poll is bounded by
// [WithRequestTimeout]; the whole wait only by the caller's context. A
// Stream cannot be run in the background.
func WithBackground() Option {
	return func(o *callOptions) { o.sampling.Background = true }
}

// usesResponses reports whether req goes through the Responses API: it
// names that API, or continues a stored response, or its model declares
// it (unless the call asks for chat completions).
func (r *Request) usesResponses() bool {
	switch r.API {
	case APIResponses:
		return true
	case APIChat:
		return false
	}
	return r.Model.APISpec == registry.APISpecResponses || r.PreviousResponseID != "" || r.Background
}

// UsesResponses reports whether the request goes through the Responses
// API rather than chat completions: [WithAPI] decides when it was given;
// otherwise the model's APISpec "responses", [WithPreviousResponse] and
// [WithBackground] select it. Providers serving both APIs route by it.
func (r *Request) UsesResponses() bool { return r.usesResponses() }
