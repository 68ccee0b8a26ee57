package llm

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"slices"
	"strconv"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/registry"
)

// Request is one call as a [Provider] sees it: a resolved model, the
// messages and the [Sampling] settings. Providers must treat it as
// read-only; [Request.Clone] makes a copy to change.
type Request struct {
	// Model is the resolved catalog entry; Model.Name is the wire name
	// (for Azure, the deployment).
	Model registry.Model
	// Messages is the conversation to send.
	Messages []conversation.Message
	// Sampling holds the generation settings.
	Sampling
}

// Sampling holds generation settings, set by the sampling options
// ([WithTemperature], [WithMaxNewTokens], …). Zero values mean "provider
// default"; pointers distinguish an explicit zero (temperature 0) from
// unset.
type Sampling struct {
	// Temperature and TopP are the sampling temperature and nucleus
	// probability ([WithTemperature], [WithTopP]); nil sends none.
	Temperature *float64
	TopP        *float64
	// MaxNewTokens caps the completion (max_tokens, or max_completion_tokens
	// for reasoning models). 0 means the provider's default.
	MaxNewTokens int
	Stop         []string
	Seed         *int64
	// ResponseFormat asks for JSON output; nil means free text.
	ResponseFormat *ResponseFormat
	Tools          []Tool
	// ToolChoice is "", "auto", "none", "required", or the name of a tool
	// the model must call.
	ToolChoice string
	// Logprobs asks for token log-probabilities; TopLogprobs for that many
	// alternatives per token (0–20).
	Logprobs    bool
	TopLogprobs int
	// ReasoningEffort is "minimal", "low", "medium" or "high" for reasoning
	// models; ignored by others.
	ReasoningEffort string
	// User is an end-user identifier passed to the provider for abuse
	// monitoring.
	User string

	// API chooses the wire API of a model that has more than one
	// ([WithAPI]); [APIAuto] follows the model's [registry.Model.APISpec].
	API API
	// The Responses API's own settings ([WithReasoningSummary],
	// [WithPreviousResponse], [WithStore], [WithBackground]); other APIs
	// ignore them. ReasoningSummary is "auto", "concise" or "detailed";
	// PreviousResponseID continues a stored response; Store, when set,
	// says whether the server keeps the response (deluge asks it not to
	// by default); Background runs the request in the background, the
	// Client polling until it is done.
	ReasoningSummary   string
	PreviousResponseID string
	Store              *bool
	Background         bool
}

// ResponseFormat asks for structured output ([WithJSONMode],
// [WithJSONSchema]).
type ResponseFormat struct {
	// Type is "json_object" (JSON mode) or "json_schema".
	Type string
	// Name, Schema and Strict describe a JSON schema for Type "json_schema";
	// Schema is the JSON text of the schema.
	Name   string
	Schema []byte
	Strict bool
}

// Response format types.
const (
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// Tool is a function the model may call ([WithTools]).
type Tool struct {
	// Name is the function's name, Description what it does, for the model.
	Name        string
	Description string
	// Parameters is the JSON schema of the arguments (JSON text); nil means
	// no parameters.
	Parameters []byte
	// Strict asks the model to follow Parameters exactly (structured
	// outputs), where the provider offers it.
	Strict bool
}

// Clone returns a deep copy of r: changing the copy's messages, sampling
// settings or model leaves r as it was.
func (r *Request) Clone() *Request {
	if r == nil {
		return nil
	}
	c := *r
	c.Model = r.Model.Clone()
	if r.Messages != nil {
		c.Messages = make([]conversation.Message, len(r.Messages))
		for i, m := range r.Messages {
			c.Messages[i] = m.Clone()
		}
	}
	c.Sampling = r.Sampling.Clone()
	return &c
}

// Clone returns a deep copy of s.
func (s Sampling) Clone() Sampling {
	c := s
	if s.Temperature != nil {
		t := *s.Temperature
		c.Temperature = &t
	}
	if s.TopP != nil {
		p := *s.TopP
		c.TopP = &p
	}
	if s.Seed != nil {
		seed := *s.Seed
		c.Seed = &seed
	}
	if s.Store != nil {
		store := *s.Store
		c.Store = &store
	}
	c.Stop = slices.Clone(s.Stop)
	if s.ResponseFormat != nil {
		f := *s.ResponseFormat
		f.Schema = slices.Clone(f.Schema)
		c.ResponseFormat = &f
	}
	if s.Tools != nil {
		c.Tools = make([]Tool, len(s.Tools))
		for i, t := range s.Tools {
			t.Parameters = slices.Clone(t.Parameters)
			c.Tools[i] = t
		}
	}
	return c
}

// withModel returns r sent to m instead: a shallow copy, since a Request
// is read-only once built (providers must not change it).
func (r *Request) withModel(m registry.Model) *Request {
	c := *r
	c.Model = m
	return &c
}

// EstimateInputTokens estimates the prompt tokens of the request: the
// conversation (see [conversation.EstimateTokens]) plus tool definitions and
// the schema of a structured response.
func (r *Request) EstimateInputTokens() int {
	n := conversation.EstimateMessageTokens(r.Messages)
	for _, t := range r.Tools {
		n += 8 + conversation.EstimateTextTokens(t.Name) + conversation.EstimateTextTokens(t.Description) + (len(t.Parameters)+3)/4
	}
	if r.ResponseFormat != nil {
		n += (len(r.ResponseFormat.Schema) + 3) / 4
	}
	return n
}

// Fingerprint returns a stable hex digest identifying everything in the
// request that determines the reply: provider, model ID, wire name, API
// base and API family, every sampling setting, tools, response format and
// the full conversation. What the request does not say — the endpoint,
// region set, deployment or API version a provider sends it to — is the
// provider's [CacheIdentity], which [CacheKey] adds: the engine keys its
// cache with CacheKey, so use that to find what a [Client] stored.
func (r *Request) Fingerprint() string { return r.fingerprint(&r.Model, "") }

// CacheKey returns the key under which a [Client] caches the reply to r
// sent through p: r's [Request.Fingerprint] mixed with p's
// [CacheIdentity] for r's model when p implements it, so that changing
// the endpoint, the deployment or the API version is a cache miss, never
// another configuration's answer.
func CacheKey(p Provider, r *Request) string {
	return r.fingerprint(&r.Model, identityOf(p, r.Model))
}

// identityOf is p's CacheIdentity for m, or "".
func identityOf(p Provider, m registry.Model) string {
	if ci, ok := p.(CacheIdentity); ok {
		return ci.CacheIdentity(m)
	}
	return ""
}

// fingerprintVersion changes whenever what the fingerprint covers does,
// so that entries keyed the old way are misses rather than wrong hits. v2
// added the API family and the provider's identity.
const fingerprintVersion = "deluge-fp-v2"

// fingerprint is the Fingerprint of r sent to model m instead, through a
// provider whose CacheIdentity for m is identity.
func (r *Request) fingerprint(m *registry.Model, identity string) string {
	h := sha256.New()
	fp := fingerprinter{h: h}
	fp.str(fingerprintVersion)
	fp.str(m.Provider)
	fp.str(m.ID)
	fp.str(m.Name)
	fp.str(m.APIBase)
	fp.str(m.APISpec)
	fp.str(identity)
	s := &r.Sampling
	fp.optFloat(s.Temperature)
	fp.optFloat(s.TopP)
	fp.int(int64(s.MaxNewTokens))
	fp.int(int64(len(s.Stop)))
	for _, st := range s.Stop {
		fp.str(st)
	}
	if s.Seed != nil {
		fp.int(1)
		fp.int(*s.Seed)
	} else {
		fp.int(0)
	}
	if f := s.ResponseFormat; f != nil {
		fp.str(f.Type)
		fp.str(f.Name)
		fp.bytes(f.Schema)
		fp.bool(f.Strict)
	} else {
		fp.str("")
	}
	fp.int(int64(len(s.Tools)))
	for _, t := range s.Tools {
		fp.str(t.Name)
		fp.str(t.Description)
		fp.bytes(t.Parameters)
		fp.bool(t.Strict)
	}
	fp.str(s.ToolChoice)
	fp.bool(s.Logprobs)
	fp.int(int64(s.TopLogprobs))
	fp.str(s.ReasoningEffort)
	fp.str(s.User)
	fp.int(int64(len(r.Messages)))
	for _, m := range r.Messages {
		fp.str(string(m.Role))
		fp.str(m.Name)
		fp.int(int64(len(m.Parts)))
		for _, p := range m.Parts {
			fp.str(string(p.Type))
			fp.str(p.Text)
			fp.str(p.URL)
			fp.str(p.MIMEType)
			fp.bytes(p.Data)
			fp.str(p.Filename)
			fp.str(p.Detail)
			if c := p.ToolCall; c != nil {
				fp.str(c.ID)
				fp.str(c.Name)
				fp.str(c.Arguments)
			} else {
				fp.str("")
			}
			if tr := p.ToolResult; tr != nil {
				fp.str(tr.CallID)
				fp.str(tr.Content)
			} else {
				fp.str("")
			}
		}
	}
	// The Responses API's settings come last, and only when set, so that
	// the keys of requests without them (every cache entry written
	// before they existed) do not change.
	if s.API != APIAuto || s.ReasoningSummary != "" || s.PreviousResponseID != "" || s.Store != nil || s.Background {
		fp.str("responses-v1")
		fp.int(int64(s.API))
		fp.str(s.ReasoningSummary)
		fp.str(s.PreviousResponseID)
		switch {
		case s.Store == nil:
			fp.int(-1)
		case *s.Store:
			fp.int(1)
		default:
			fp.int(0)
		}
		fp.bool(s.Background)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fingerprinter writes length-prefixed fields so that no two different
// requests can produce the same byte stream.
type fingerprinter struct {
	h   hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func (f *fingerprinter) int(v int64) {
	n := binary.PutVarint(f.buf[:], v)
	f.h.Write(f.buf[:n])
}

func (f *fingerprinter) str(s string) {
	f.int(int64(len(s)))
	f.h.Write([]byte(s))
}

func (f *fingerprinter) bytes(b []byte) {
	f.int(int64(len(b)))
	f.h.Write(b)
}

func (f *fingerprinter) bool(b bool) {
	if b {
		f.int(1)
	} else {
		f.int(0)
	}
}

func (f *fingerprinter) optFloat(v *float64) {
	if v == nil {
		f.str("")
		return
	}
	f.str(strconv.FormatUint(math.Float64bits(*v), 36))
}
