package providertest_test

import (
	"context"
	"errors"
	"iter"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

var (
	testModel      = registry.Model{ID: "fake-model", Provider: llmtest.ProviderName, Name: "fake-model"}
	testEmbeddings = registry.Model{ID: "fake-embeddings", Provider: llmtest.ProviderName, Name: "fake-embeddings",
		APISpec: registry.APISpecEmbeddings, Dimensions: llmtest.DefaultDimensions, SupportsDimensions: true, MaxInputs: 16}
)

// ExpectedVector implements providertest.VectorReplier.
func (b fakeBackend) ExpectedVector(_ registry.Model, input string, dims int) []float32 {
	return llmtest.Vector(input, dims)
}

// failEmbed makes the fake's embeddings fail like its generations.
func failEmbed(fake *llmtest.Provider, code llm.Code, status int, retry time.Duration) {
	fake.EmbedReply = func(_ context.Context, req *llm.EmbedRequest, _ int) (*llm.EmbedResponse, error) {
		return nil, llmtest.Error(&llm.Request{Model: req.Model}, code, status, retry)
	}
}

// fakeBackend adapts an llmtest fake to the optional backend interfaces.
type fakeBackend struct{ *llmtest.Provider }

func (b fakeBackend) LastMessages() []conversation.Message {
	if r := b.LastRequest(); r != nil {
		return r.Messages
	}
	return nil
}

func (b fakeBackend) ExpectedReply(req *llm.Request) string {
	return "echo: " + llmtest.LastUserText(req)
}

// callsTool honours tool_choice "required" with a call of the first tool.
func callsTool(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
	if len(req.Tools) == 0 || req.ToolChoice != "required" {
		return llmtest.Echo(ctx, req, n)
	}
	resp := llmtest.TextResponse(req, "")
	resp.Message.Parts = []conversation.Part{conversation.Call("call_1", req.Tools[0].Name, `{"city":"Paris"}`)}
	resp.FinishReason = "tool_calls"
	resp.Usage.OutputTokens = 5
	return resp, nil
}

// llmtestHarness wires the suite to the in-memory fake: no wire at all.
func llmtestHarness(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
	fake := llmtest.New()
	switch c {
	case providertest.BadKey:
		fake.Reply = func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
			return nil, llmtest.Error(req, llm.CodeAuthentication, 401, 0)
		}
		failEmbed(fake, llm.CodeAuthentication, 401, 0)
	case providertest.UnknownModel:
		fake.Reply = func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
			return nil, llmtest.Error(req, llm.CodeNotFound, 404, 0)
		}
		failEmbed(fake, llm.CodeNotFound, 404, 0)
	case providertest.RateLimited:
		fake.Reply = func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
			return nil, llmtest.Error(req, llm.CodeRateLimited, 429, 1500*time.Millisecond)
		}
		failEmbed(fake, llm.CodeRateLimited, 429, 1500*time.Millisecond)
	case providertest.Stalled:
		fake.Latency = time.Hour
	case providertest.CallsTool:
		fake.Reply = callsTool
	}
	return providertest.Target{Provider: fake, Model: testModel, EmbeddingModel: testEmbeddings, Backend: fakeBackend{fake}}, true
}

// TestLLMTestFake runs the suite against llmtest's in-memory fake: the
// kit must fit a provider without any HTTP.
func TestLLMTestFake(t *testing.T) {
	providertest.Run(t, providertest.HarnessFunc(llmtestHarness))
}

// TestMinimalHarness shows that a harness offering only Healthy, with no
// backend hooks, runs: everything else is skipped, nothing fails.
func TestMinimalHarness(t *testing.T) {
	providertest.Run(t, providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
		if c != providertest.Healthy {
			return providertest.Target{}, false
		}
		return providertest.Target{Provider: llmtest.GenerateOnly(llmtest.New()), Model: testModel}, true
	}))
}

// Broken providers, each violating one promise. The suite must catch them.

// mutating appends to the caller's messages.
type mutating struct{ *llmtest.Provider }

func (m mutating) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if len(req.Messages) > 0 {
		req.Messages[0].Parts = append(req.Messages[0].Parts, conversation.Text(" (edited)"))
	}
	return m.Provider.Generate(ctx, req)
}

// retrying retries on its own, doubling the backend's load on a 429.
type retrying struct{ *llmtest.Provider }

func (r retrying) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	resp, err := r.Provider.Generate(ctx, req)
	if errors.Is(err, llm.ErrRateLimited) {
		return r.Provider.Generate(ctx, req)
	}
	return resp, err
}

// lossyStream drops the last text chunk of every stream.
type lossyStream struct{ *llmtest.Provider }

func (l lossyStream) Stream(ctx context.Context, req *llm.Request) iter.Seq2[*llm.Chunk, error] {
	return func(yield func(*llm.Chunk, error) bool) {
		var pending *llm.Chunk
		for c, err := range l.Provider.Stream(ctx, req) {
			if err != nil || c.FinishReason != "" {
				if !yield(c, err) {
					return
				}
				continue
			}
			if pending != nil && !yield(pending, nil) {
				return
			}
			pending = c
		}
	}
}

// plainErrors returns bare errors instead of *llm.Error.
type plainErrors struct{ *llmtest.Provider }

func (p plainErrors) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	resp, err := p.Provider.Generate(ctx, req)
	if err != nil {
		return nil, errors.New("something failed")
	}
	return resp, nil
}

// miscounting reports more attempts than it made.
type miscounting struct{ *llmtest.Provider }

func (m miscounting) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	resp, err := m.Provider.Generate(ctx, req)
	if resp != nil {
		resp.Attempts = 2
	}
	return resp, err
}

// reversedVectors returns its vectors in the wrong order.
type reversedVectors struct{ *llmtest.Provider }

func (r reversedVectors) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	resp, err := r.Provider.Embed(ctx, req)
	if err == nil {
		slices.Reverse(resp.Vectors)
	}
	return resp, err
}

// regions serves a model from two llmtest endpoints and fails over from the
// first to the second on a 503, as Azure's region router does; miscount
// makes it report one attempt whatever it sent.
type regions struct {
	eps      [2]*llmtest.Provider
	miscount bool
}

func (r *regions) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	for i, ep := range r.eps {
		resp, err := ep.Generate(ctx, req)
		if err == nil {
			resp.Attempts = i + 1
			if r.miscount {
				resp.Attempts = 1
			}
			return resp, nil
		}
		if llm.CodeOf(err) != llm.CodeUnavailable || i == len(r.eps)-1 {
			return nil, err
		}
	}
	panic("unreachable")
}

// regionsBackend counts the requests of both endpoints.
type regionsBackend struct{ r *regions }

func (b regionsBackend) Calls() int     { return b.r.eps[0].Calls() + b.r.eps[1].Calls() }
func (b regionsBackend) Endpoints() int { return len(b.r.eps) }

// regionsHarness offers Healthy and FailingOver (the first endpoint down).
func regionsHarness(miscount bool) providertest.HarnessFunc {
	return func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
		r := &regions{eps: [2]*llmtest.Provider{llmtest.New(), llmtest.New()}, miscount: miscount}
		switch c {
		case providertest.Healthy:
		case providertest.FailingOver:
			r.eps[0].Reply = func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
				return nil, llmtest.Error(req, llm.CodeUnavailable, 503, 0)
			}
		default:
			return providertest.Target{}, false
		}
		return providertest.Target{Provider: r, Model: testModel, Backend: regionsBackend{r}}, true
	}
}

// TestFailoverProvider: a provider that fails over between two endpoints
// and counts its requests in Attempts passes.
func TestFailoverProvider(t *testing.T) {
	providertest.Run(t, regionsHarness(false))
}

var broken = map[string]struct {
	wrap func(*llmtest.Provider) llm.Provider
	// harness, when set, replaces llmtestHarness (and wrap).
	harness providertest.Harness
	// failing is the case that must fail, shown with its explanation.
	failing, explanation string
}{
	"mutating": {func(p *llmtest.Provider) llm.Provider { return mutating{p} },
		nil, "Generate/RequestNotMutated", "leave the Request exactly as they found it"},
	"retrying": {func(p *llmtest.Provider) llm.Provider { return retrying{p} },
		nil, "Errors/RateLimited", "the provider does not retry on its own"},
	"lossy-stream": {func(p *llmtest.Provider) llm.Provider { return lossyStream{p} },
		nil, "Stream/MatchesGenerate", "the streamed deltas concatenate"},
	"plain-errors": {func(p *llmtest.Provider) llm.Provider { return plainErrors{p} },
		nil, "Errors/BadKey", "is an *llm.Error with CodeAuthentication"},
	"miscounting": {func(p *llmtest.Provider) llm.Provider { return miscounting{p} },
		nil, "Generate/Attempts", "Response.Attempts counts the requests the call sent"},
	"miscounting-failover": {nil, regionsHarness(true),
		"Failover/Attempts", "Response.Attempts counts the requests the backend received"},
	"reversed-vectors": {func(p *llmtest.Provider) llm.Provider { return reversedVectors{p} },
		nil, "Embed/Vectors", "one vector per input, in input order"},
}

// TestBrokenProvider is the suite run against one broken provider, chosen by
// PROVIDERTEST_BROKEN; TestSuiteCatchesBrokenProviders runs it in a child
// process and expects it to fail.
func TestBrokenProvider(t *testing.T) {
	name := os.Getenv("PROVIDERTEST_BROKEN")
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenProviders")
	}
	b := broken[name]
	if b.harness != nil {
		providertest.Run(t, b.harness)
		return
	}
	providertest.Run(t, providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
		tg, ok := llmtestHarness(t, c)
		tg.Provider = b.wrap(tg.Provider.(*llmtest.Provider))
		return tg, ok
	}))
}

func TestSuiteCatchesBrokenProviders(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child test processes")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenProvider$", "-test.v")
			cmd.Env = append(os.Environ(), "PROVIDERTEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a provider that should fail %s:\n%s", b.failing, out)
			}
			s := string(out)
			if !strings.Contains(s, "--- FAIL: TestBrokenProvider/"+b.failing) {
				t.Errorf("case %s did not fail:\n%s", b.failing, s)
			}
			if !strings.Contains(s, b.explanation) {
				t.Errorf("failure output lacks the case's explanation %q:\n%s", b.explanation, s)
			}
		})
	}
}
