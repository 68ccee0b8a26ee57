package cachetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

type testCase struct {
	name    string
	explain string
	fn      func(t *testing.T, s llm.Cache)
}

var cases = []testCase{
	{"Miss", "Get of a key never stored reports a miss: a nil response, ok false and no error", testMiss},
	{"RoundTrip", "a stored response comes back whole (text, tool calls, content-filter annotations, usage, log-probabilities, attempts, latency, request ID), except that Header is nil (HTTP headers are never kept) and Cached and Cost may describe the hit", testRoundTrip},
	{"PutLeavesItsArgument", "Put leaves the response it is given exactly as it was, its Header included", testPutLeavesItsArgument},
	{"PutCopies", "changing a response after Put, down to the values behind its pointers and slices, does not change what Get returns", testPutCopies},
	{"HitIsTheCallers", "changing a response Get returned (its fields, and the elements of its Message.Parts, PromptFilter and Logprobs) does not change what the next Get returns; the values those point to may be shared with the store, read-only", testHitIsTheCallers},
	{"PutReplaces", "a second Put under a key replaces the first", testPutReplaces},
	{"KeysAreDistinct", "responses stored under different keys each come back under their own key", testKeysAreDistinct},
	{"Concurrent", "goroutines putting and getting at once each get, on a hit, the response stored under that key", testConcurrent},
}

// Run runs the suite, one subtest per case, each on a fresh store made by
// newStore (which may register a t.Cleanup to close it). Run it with
// -race.
func Run(t *testing.T, newStore func(t *testing.T) llm.Cache) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("cachetest: %s: %s", c.name, c.explain)
				}
			}()
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned a nil store")
			}
			c.fn(t, s)
		})
	}
}

// Key returns a key of the form the engine uses ([llm.CacheKey]: 64 hex
// digits), distinct for each i.
func Key(i int) string { return fmt.Sprintf("%064x", 0xdeadbeef00000000+uint64(i)) }

// FullResponse returns a response that sets every field a provider may
// set: text and tool calls, content-filter annotations of each shape,
// usage, log-probabilities, and HTTP headers holding secrets.
func FullResponse() *llm.Response {
	return &llm.Response{
		Model:       "azure-gpt-4o",
		Provider:    "azure-foundry",
		Region:      "swedencentral",
		ServedModel: "gpt-4o-2024-11-20",
		Completion:  "Let me check the weather.",
		Message: conversation.Message{
			Role: conversation.RoleAssistant,
			Parts: []conversation.Part{
				conversation.Text("Let me check the weather."),
				conversation.Call("call_1", "get_weather", `{"city":"Paris"}`),
				conversation.Call("call_2", "get_time", `{"tz":"Europe/Paris"}`),
			},
		},
		FinishReason: "tool_calls",
		Refusal:      "",
		Usage:        llm.Usage{InputTokens: 120, OutputTokens: 35, CachedInputTokens: 64, ReasoningTokens: 7},
		Cost:         0.00123,
		ContentFilter: &llm.ContentFilterResults{
			Hate:      llm.SeverityResult{Filtered: false, Severity: "safe"},
			SelfHarm:  llm.SeverityResult{Filtered: false, Severity: "safe"},
			Sexual:    llm.SeverityResult{Filtered: false, Severity: "low"},
			Violence:  llm.SeverityResult{Filtered: true, Severity: "medium"},
			Profanity: llm.DetectionResult{Filtered: false, Detected: false},
			ProtectedMaterialCode: llm.DetectionResult{Filtered: false, Detected: true,
				Citation: &llm.Citation{URL: "https://github.com/example/repo", License: "MIT"}},
			CustomBlocklists: []llm.BlocklistResult{{ID: "Profanity", Filtered: false}},
		},
		PromptFilter: []llm.ContentFilterResults{{
			PromptIndex: 0,
			Hate:        llm.SeverityResult{Severity: "safe"},
			Jailbreak:   llm.DetectionResult{Filtered: false, Detected: false},
			Error:       &llm.FilterError{Code: "Timeout", Message: "filter timed out"},
		}},
		Logprobs: []llm.TokenLogprob{
			{Token: "Let", Logprob: -0.0123, Bytes: []byte("Let"), TopLogprobs: []llm.TopLogprob{
				{Token: "Let", Logprob: -0.0123, Bytes: []byte("Let")},
				{Token: "I", Logprob: -4.5, Bytes: []byte("I")},
			}},
			{Token: " me", Logprob: -0.5},
		},
		Attempts:  2,
		Latency:   1234 * time.Millisecond,
		RequestID: "req-0b7f",
		Header: http.Header{
			"Api-Key":                        {"sk-SECRET-api-key-9f8e7d"},
			"Authorization":                  {"Bearer SECRET-entra-token-1a2b3c"},
			"X-Ratelimit-Remaining-Requests": {"99"},
		},
	}
}

// TextResponse returns a plain reply whose completion is text.
func TextResponse(text string) *llm.Response {
	return &llm.Response{
		Model:        "test-model",
		Provider:     "test",
		Completion:   text,
		Message:      conversation.Message{Role: conversation.RoleAssistant, Parts: []conversation.Part{conversation.Text(text)}},
		FinishReason: "stop",
		Usage:        llm.Usage{InputTokens: 10, OutputTokens: 2},
		Cost:         0.5,
		Attempts:     1,
	}
}

// stored is what a hit on r must equal: r without Header, with Cached and
// Cost as the hit has them (the store may mark a hit; the engine does
// anyway).
func stored(r *llm.Response, hit *llm.Response) *llm.Response {
	w := r.Clone()
	w.Header = nil
	w.Cached, w.Cost = hit.Cached, hit.Cost
	return w
}

// checkHit fails the test unless hit is what a Get must return for r.
func checkHit(t *testing.T, r, hit *llm.Response) {
	t.Helper()
	if hit.Header != nil {
		t.Errorf("the hit has HTTP headers %v: a store must never keep them", hit.Header)
	}
	if hit.Cost != 0 && hit.Cost != r.Cost {
		t.Errorf("the hit costs %v: want the original %v, or 0 for a hit", hit.Cost, r.Cost)
	}
	if want := stored(r, hit); !reflect.DeepEqual(want, hit) {
		t.Errorf("the hit differs from what was stored:\n got: %s\nwant: %s", show(hit), show(want))
	}
}

func show(r *llm.Response) string {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprintf("%+v", *r)
	}
	return string(b)
}

func get(t *testing.T, s llm.Cache, key string) *llm.Response {
	t.Helper()
	resp, ok, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	if !ok || resp == nil {
		t.Fatalf("Get(%s): a miss (ok %v, response %v) after Put", key, ok, resp)
	}
	return resp
}

func put(t *testing.T, s llm.Cache, key string, resp *llm.Response) {
	t.Helper()
	if err := s.Put(context.Background(), key, resp); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func testMiss(t *testing.T, s llm.Cache) {
	resp, ok, err := s.Get(context.Background(), Key(404))
	if err != nil || ok || resp != nil {
		t.Errorf("Get of a key never stored = %v, %v, %v; want nil, false, nil", resp, ok, err)
	}
}

func testRoundTrip(t *testing.T, s llm.Cache) {
	r := FullResponse()
	put(t, s, Key(1), r)
	checkHit(t, FullResponse(), get(t, s, Key(1)))
}

func testPutLeavesItsArgument(t *testing.T, s llm.Cache) {
	r := FullResponse()
	put(t, s, Key(1), r)
	if want := FullResponse(); !reflect.DeepEqual(want, r) {
		t.Errorf("Put changed its argument:\n got: %s %v\nwant: %s %v", show(r), r.Header, show(want), want.Header)
	}
}

func testPutCopies(t *testing.T, s llm.Cache) {
	r := FullResponse()
	put(t, s, Key(1), r)
	r.Completion = "changed"
	r.Message.Parts[0].Text = "changed"
	r.Message.Parts[1].ToolCall.Arguments = "changed"
	r.ContentFilter.Violence.Severity = "high"
	r.ContentFilter.ProtectedMaterialCode.Citation.URL = "changed"
	r.ContentFilter.CustomBlocklists[0].ID = "changed"
	r.PromptFilter[0].Error.Code = "changed"
	r.Logprobs[0].Bytes[0] = 'X'
	r.Logprobs[0].TopLogprobs[1].Token = "changed"
	checkHit(t, FullResponse(), get(t, s, Key(1)))
}

func testHitIsTheCallers(t *testing.T, s llm.Cache) {
	put(t, s, Key(1), FullResponse())
	hit := get(t, s, Key(1))
	hit.Completion = "mine"
	hit.Message.Parts[0] = conversation.Text("mine")
	hit.Message.Parts = append(hit.Message.Parts, conversation.Text("more"))
	hit.PromptFilter[0] = llm.ContentFilterResults{}
	hit.Logprobs[1].Token = "mine"
	hit.Usage.InputTokens = 1
	checkHit(t, FullResponse(), get(t, s, Key(1)))
}

func testPutReplaces(t *testing.T, s llm.Cache) {
	put(t, s, Key(1), TextResponse("first"))
	put(t, s, Key(1), TextResponse("second"))
	checkHit(t, TextResponse("second"), get(t, s, Key(1)))
}

func testKeysAreDistinct(t *testing.T, s llm.Cache) {
	const n = 50
	for i := range n {
		put(t, s, Key(i), TextResponse(fmt.Sprint("reply ", i)))
	}
	for i := range n {
		checkHit(t, TextResponse(fmt.Sprint("reply ", i)), get(t, s, Key(i)))
	}
}

func testConcurrent(t *testing.T, s llm.Cache) {
	const workers, ops, keys = 8, 200, 50
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				k := (i*7 + w) % keys
				if i%3 == 0 {
					if err := s.Put(ctx, Key(k), TextResponse(fmt.Sprint(k))); err != nil {
						t.Errorf("Put: %v", err)
						return
					}
					continue
				}
				hit, ok, err := s.Get(ctx, Key(k))
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if !ok {
					continue
				}
				if hit.Completion != fmt.Sprint(k) {
					t.Errorf("Get(%s) returned the response stored under another key: %q", Key(k), hit.Completion)
					return
				}
				hit.Message.Parts[0].Text = "scribble" // the caller's own: must not race
			}
		})
	}
	wg.Wait()
}
