package providertest

import (
	"testing"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Condition is the state a harness puts its backend in for one case.
type Condition int

// The conditions the suite asks for. Only Healthy is required; a harness
// returns ok=false for the others it cannot produce, and the cases that
// need them are skipped.
const (
	// Healthy: the backend answers every request normally and
	// deterministically (the same request gets the same reply), with usage.
	Healthy Condition = iota
	// BadKey: the backend rejects the provider's credential with 401.
	BadKey
	// UnknownModel: the backend does not serve the target's model (404).
	UnknownModel
	// RateLimited: the backend answers 429 with a retry delay
	// (retry-after-ms and/or retry-after), so Error.RetryAfter is > 0.
	RateLimited
	// Stalled: the backend accepts the request, then stops: a streaming
	// request gets its first content chunk and then nothing; a
	// non-streaming one gets no answer. It waits until the client goes
	// away (or for a long time), and then ends the request.
	Stalled
	// CallsTool: like Healthy, and a request with ToolChoice "required"
	// is answered with a call of the first tool (arguments: a JSON object)
	// and finish reason "tool_calls", as real models do. A backend that
	// honours tool_choice can return its Healthy target.
	CallsTool
	// FailingOver: the backend has several endpoints for the target's
	// model (its Backend implements [MultiEndpoint]); one of them answers
	// every request with 503, and the provider tries it first on the
	// first call. Only a provider that fails over between endpoints
	// within a call (Azure's regions) can be given this condition; the
	// case is skipped when the target's Backend has fewer than two
	// endpoints.
	FailingOver
)

func (c Condition) String() string {
	switch c {
	case Healthy:
		return "Healthy"
	case BadKey:
		return "BadKey"
	case UnknownModel:
		return "UnknownModel"
	case RateLimited:
		return "RateLimited"
	case Stalled:
		return "Stalled"
	case CallsTool:
		return "CallsTool"
	case FailingOver:
		return "FailingOver"
	}
	return "Condition(?)"
}

// Target is a provider and a model wired to a backend in some condition.
type Target struct {
	// Provider is the provider under test.
	Provider llm.Provider
	// Model is what requests name; Model.ID is what errors and responses
	// must report.
	Model registry.Model
	// Backend observes the backend serving this target; nil disables the
	// cases that need it. It may also implement Recorder, Replier and
	// InFlighter.
	Backend Backend
	// Secrets are strings (API keys) that must never appear in an error
	// message.
	Secrets []string
	// API is the wire API the suite's requests name ([llm.Sampling.API]):
	// the suite sets it when it runs the cases on each API of a harness
	// implementing [APIs]; harnesses leave it zero.
	API llm.API
	// EmbeddingModel is an embeddings model the backend serves through the
	// same provider, in the same condition as Model (unknown to the
	// backend in UnknownModel); the zero value skips the embeddings cases.
	EmbeddingModel registry.Model
}

// APIs is implemented by harnesses whose provider serves the target's
// model through more than one wire API (OpenAI's and Azure's chat
// completions and Responses API): the suite runs its request cases once
// per API listed. [WithAPIs] adds it to any Harness.
type APIs interface {
	APIs() []llm.API
}

// WithAPIs returns h declaring the wire APIs its provider serves.
func WithAPIs(h Harness, apis ...llm.API) Harness {
	return apisHarness{Harness: h, apis: apis}
}

type apisHarness struct {
	Harness
	apis []llm.API
}

func (h apisHarness) APIs() []llm.API { return h.apis }

// Harness connects the suite to one provider and its backend.
type Harness interface {
	// Target returns a provider and model wired to a fresh backend in
	// condition c, or ok=false when the harness cannot produce c (the
	// cases needing it are skipped). It is called once per case, from the
	// case's goroutine; use t.Cleanup to stop what it starts.
	Target(t *testing.T, c Condition) (target Target, ok bool)
}

// HarnessFunc adapts a function to Harness.
type HarnessFunc func(t *testing.T, c Condition) (Target, bool)

// Target calls f.
func (f HarnessFunc) Target(t *testing.T, c Condition) (Target, bool) { return f(t, c) }

// Backend is what the suite can always ask a backend.
// *llmtest.Provider satisfies it.
type Backend interface {
	// Calls returns how many requests the backend has received, over all
	// its endpoints. The suite uses it to check that a call sends one
	// request to each endpoint at most (retrying is the llm.Client's job)
	// and that Response.Attempts counts them.
	Calls() int
}

// MultiEndpoint is implemented by backends that serve the target's model
// from several endpoints (Azure's regions), between which a provider may
// fail over within one call, trying each at most once. Without it a
// backend has one endpoint, and a call sends it one request.
type MultiEndpoint interface {
	// Endpoints returns the number of endpoints.
	Endpoints() int
}

// Recorder is implemented by backends that can report what reached them.
type Recorder interface {
	// LastMessages returns the messages of the most recent request, in
	// order, as the backend understood them (role and text are compared;
	// tool calls and results too when present).
	LastMessages() []conversation.Message
}

// Replier is implemented by backends whose reply is predictable.
type Replier interface {
	// ExpectedReply returns the text the backend answers to req in the
	// Healthy condition.
	ExpectedReply(req *llm.Request) string
}

// VectorReplier is implemented by backends whose embeddings are
// predictable.
type VectorReplier interface {
	// ExpectedVector returns the vector the backend computes for input
	// with model m, of the given dimensions (0: the model's own), in the
	// Healthy condition.
	ExpectedVector(m registry.Model, input string, dimensions int) []float32
}

// InFlighter is implemented by backends that can tell when a request is
// over on their side.
type InFlighter interface {
	// InFlight returns the number of requests the backend is still
	// serving (an open stream counts until the backend sees the client
	// leave).
	InFlight() int
}
