package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

const (
	// callTimeout bounds every call the suite expects to succeed.
	callTimeout = 30 * time.Second
	// prompt is how soon a canceled or expired call must return. Generous,
	// so that the suite holds under -race on a loaded CI machine.
	prompt = 5 * time.Second
	// concurrency is the number of goroutines of the concurrency case.
	concurrency = 50
)

type testCase struct {
	name    string
	explain string
	fn      func(t *testing.T, h Harness)
}

var cases = []testCase{
	{"Generate/PlainText", "a one-message request gets an assistant reply whose text is Completion, finish reason \"stop\", Model = the model ID and a provider name (and the backend's predicted text, with a Replier)", testPlainText},
	{"Generate/SystemFirst", "the system message reaches the backend first, with its text", testSystemFirst},
	{"Generate/MultiTurnOrder", "every message of a multi-turn conversation reaches the backend in order, with its role and text", testMultiTurn},
	{"Generate/ToolResultSent", "an assistant tool call and the tool result answering it reach the backend, linked by the call ID, with name and arguments intact", testToolResultSent},
	{"Generate/ToolCallRoundTrip", "with tool_choice \"required\", the model's tool call comes back whole (ID, name, JSON-object arguments) with finish reason \"tool_calls\", and sending the result back gets a text reply", testToolCallRoundTrip},
	{"Generate/Usage", "a reply reports more than zero input and output tokens", testUsage},
	{"Generate/RequestNotMutated", "Generate and Stream leave the Request exactly as they found it (providers must treat it as read-only)", testNotMutated},
	{"Generate/Canceled", "a canceled context ends the call promptly with an error matching context.Canceled and code canceled", testCanceled},
	{"Generate/Deadline", "an expired deadline ends the call promptly with an error matching llm.ErrTimeout or context.DeadlineExceeded", testDeadline},
	{"Generate/Attempts", "Response.Attempts counts the requests the call sent: exactly what the backend received (0 is read as 1)", testAttempts},
	{"Errors/BadKey", "a rejected credential (401) is an *llm.Error with CodeAuthentication, StatusCode 401, the model ID, no secret in its text, after one backend request (at most one per endpoint)", errorCase(BadKey, llm.CodeAuthentication, 401)},
	{"Errors/UnknownModel", "an unknown model (404) is an *llm.Error with CodeNotFound, StatusCode 404, the model ID, after one backend request (at most one per endpoint)", errorCase(UnknownModel, llm.CodeNotFound, 404)},
	{"Errors/RateLimited", "a 429 is an *llm.Error with CodeRateLimited, StatusCode 429, RetryAfter > 0 and Retryable, after one backend request, or one per endpoint for a provider that fails over (the provider does not retry on its own)", errorCase(RateLimited, llm.CodeRateLimited, 429)},
	{"Failover/Attempts", "when the endpoint tried first fails with 503, the call moves to another at once and succeeds, trying each endpoint at most once, and Response.Attempts counts the requests the backend received for it (streams fail over too, before their first chunk)", testFailover},
	{"Stream/MatchesGenerate", "the streamed deltas concatenate to the Completion Generate returns for the same request, exactly one chunk carries the (same) finish reason, and the request ID, if any, comes on the first chunk", testStreamMatches},
	{"Stream/Usage", "a stream reports usage (> 0 input and output tokens) on some chunk", testStreamUsage},
	{"Stream/ToolCall", "a streamed tool call is yielded once, whole (ID, name, JSON arguments), with finish reason \"tool_calls\"", testStreamToolCall},
	{"Stream/EarlyBreak", "breaking out of the loop after the first chunk releases the connection (the backend sees the request end) and leaves the provider usable", testEarlyBreak},
	{"Stream/Canceled", "canceling the context ends the stream promptly, its last element an error matching context.Canceled", testStreamCanceled},
	{"Concurrency", fmt.Sprintf("%d goroutines share one provider; every call succeeds with its own reply and reaches the backend once", concurrency), testConcurrency},
}

// Run runs the conformance suite against the provider h wires up, one
// subtest per case. Cases that need a condition or backend ability the
// harness lacks are skipped. Run it with -race.
//
// A harness whose provider serves more than one wire API (it implements
// [APIs]; see [WithAPIs]) has the request cases run again for each API
// other than [llm.APIAuto], under a subtest named after it
// ("responses/Generate/PlainText"), the requests naming it in
// [llm.Sampling.API]. The embeddings cases ("Embed/…") run once, for a
// provider implementing [llm.Embedder] whose targets name an
// [Target.EmbeddingModel].
func Run(t *testing.T, h Harness) {
	t.Helper()
	runCases(t, h, cases)
	apis := []llm.API{llm.APIAuto}
	if a, ok := h.(APIs); ok {
		apis = a.APIs()
	}
	for _, api := range apis {
		if api == llm.APIAuto {
			continue
		}
		t.Run(api.String(), func(t *testing.T) {
			runCases(t, apiHarness{h: h, api: api}, cases)
		})
	}
	runCases(t, h, embedCases)
}

func runCases(t *testing.T, h Harness, cs []testCase) {
	t.Helper()
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("conformance: %s: %s", c.name, c.explain)
				}
			}()
			c.fn(t, h)
		})
	}
}

// apiHarness hands out h's targets with their requests on api.
type apiHarness struct {
	h   Harness
	api llm.API
}

func (a apiHarness) Target(t *testing.T, c Condition) (Target, bool) {
	tg, ok := a.h.Target(t, c)
	tg.API = a.api
	return tg, ok
}

// --- helpers ---

func healthy(t *testing.T, h Harness) Target {
	t.Helper()
	return needTarget(t, h, Healthy)
}

func needTarget(t *testing.T, h Harness, c Condition) Target {
	t.Helper()
	tg, ok := h.Target(t, c)
	if !ok {
		if c == Healthy {
			t.Fatal("harness cannot produce a Healthy target; every harness must")
		}
		t.Skipf("harness cannot produce condition %s", c)
	}
	if tg.Provider == nil {
		t.Fatalf("harness returned a %s target without a Provider", c)
	}
	return tg
}

// request is a request of conv to the target's model, on the target's
// API.
func (tg Target) request(conv *conversation.Conversation) *llm.Request {
	return &llm.Request{Model: tg.Model, Messages: conv.Messages(), Sampling: llm.Sampling{API: tg.API}}
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

func generate(t *testing.T, tg Target, req *llm.Request) *llm.Response {
	t.Helper()
	resp, err := tg.Provider.Generate(callCtx(t), req)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if resp == nil {
		t.Fatal("Generate returned a nil Response and a nil error")
	}
	return resp
}

func recorder(t *testing.T, tg Target) Recorder {
	t.Helper()
	r, ok := tg.Backend.(Recorder)
	if !ok {
		t.Skip("backend does not implement providertest.Recorder: cannot check what reached it")
	}
	return r
}

func streamer(t *testing.T, tg Target) llm.Streamer {
	t.Helper()
	s, ok := tg.Provider.(llm.Streamer)
	if !ok {
		t.Skip("provider does not implement llm.Streamer")
	}
	return s
}

func requests(tg Target) int {
	if tg.Backend == nil {
		return -1
	}
	return tg.Backend.Calls()
}

// endpoints is the number of endpoints behind the target: 1 unless its
// backend says more.
func endpoints(tg Target) int {
	if m, ok := tg.Backend.(MultiEndpoint); ok {
		return max(m.Endpoints(), 1)
	}
	return 1
}

// attempts is what Response.Attempts says a call sent: 0 (a provider that
// leaves the field to the engine) is one request.
func attempts(resp *llm.Response) int { return max(resp.Attempts, 1) }

// streamed is what a whole stream produced.
type streamed struct {
	chunks []*llm.Chunk
	text   string
	err    error
}

// collect drains a stream, checking the sequence's own contract: no nil
// chunk without an error, and nothing after an error.
func collect(t *testing.T, seq func(func(*llm.Chunk, error) bool)) streamed {
	t.Helper()
	var out streamed
	var b strings.Builder
	for c, err := range seq {
		if out.err != nil {
			t.Errorf("stream yielded %v after its error %v; an error must be the last element", c, out.err)
			break
		}
		if err != nil {
			out.err = err
			continue
		}
		if c == nil {
			t.Error("stream yielded a nil chunk with a nil error")
			continue
		}
		out.chunks = append(out.chunks, c)
		b.WriteString(c.Text)
	}
	out.text = b.String()
	return out
}

func checkSecrets(t *testing.T, tg Target, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range tg.Secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error text contains a secret: %q", msg)
		}
	}
}

// within runs f and fails the test if it does not return within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// --- Generate cases ---

func testPlainText(t *testing.T, h Harness) {
	tg := healthy(t, h)
	req := tg.request(conversation.New().User("Say hello in one word."))
	resp := generate(t, tg, req)
	if resp.Completion == "" {
		t.Error("Completion is empty")
	}
	if resp.Message.Role != conversation.RoleAssistant {
		t.Errorf("Message.Role = %q, want %q", resp.Message.Role, conversation.RoleAssistant)
	}
	if got := resp.Message.Text(); got != resp.Completion {
		t.Errorf("Message.Text() = %q, want Completion %q", got, resp.Completion)
	}
	if resp.FinishReason != "stop" {
		t.Errorf("FinishReason = %q, want \"stop\"", resp.FinishReason)
	}
	if resp.Model != tg.Model.ID {
		t.Errorf("Response.Model = %q, want the model ID %q", resp.Model, tg.Model.ID)
	}
	if resp.Provider == "" {
		t.Error("Response.Provider is empty")
	}
	if r, ok := tg.Backend.(Replier); ok {
		if want := r.ExpectedReply(req); resp.Completion != want {
			t.Errorf("Completion = %q, want the backend's reply %q", resp.Completion, want)
		}
	}
}

func testSystemFirst(t *testing.T, h Harness) {
	tg := healthy(t, h)
	rec := recorder(t, tg)
	const sys = "You are terse. Answer in one word."
	generate(t, tg, tg.request(conversation.New().System(sys).User("Hello?")))
	got := rec.LastMessages()
	if len(got) < 2 {
		t.Fatalf("backend received %d messages, want 2", len(got))
	}
	if got[0].Role != conversation.RoleSystem || got[0].Text() != sys {
		t.Errorf("first message = %s %q, want system %q", got[0].Role, got[0].Text(), sys)
	}
}

func testMultiTurn(t *testing.T, h Harness) {
	tg := healthy(t, h)
	rec := recorder(t, tg)
	conv := conversation.New().
		System("You answer questions about numbers.").
		User("What is one plus one?").
		Assistant("Two.").
		User("And two plus two?").
		Assistant("Four.").
		User("And three plus three?")
	want := conv.Messages()
	generate(t, tg, tg.request(conv))
	got := rec.LastMessages()
	if len(got) != len(want) {
		t.Fatalf("backend received %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Role != want[i].Role || got[i].Text() != want[i].Text() {
			t.Errorf("message %d = %s %q, want %s %q", i, got[i].Role, got[i].Text(), want[i].Role, want[i].Text())
		}
	}
}

var weatherTool = llm.Tool{
	Name:        "get_weather",
	Description: "Get the current weather in a city.",
	Parameters:  []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
}

func testToolResultSent(t *testing.T, h Harness) {
	tg := healthy(t, h)
	rec := recorder(t, tg)
	const args = `{"city":"Paris"}`
	conv := conversation.New().
		User("What is the weather in Paris?").
		AssistantToolCalls("", conversation.ToolCall{ID: "call_abc123", Name: "get_weather", Arguments: args}).
		ToolResult("call_abc123", "sunny, 21 °C")
	req := tg.request(conv)
	req.Tools = []llm.Tool{weatherTool}
	generate(t, tg, req)
	got := rec.LastMessages()
	if len(got) != 3 {
		t.Fatalf("backend received %d messages, want 3 (user, assistant tool call, tool result)", len(got))
	}
	calls := got[1].ToolCalls()
	if got[1].Role != conversation.RoleAssistant || len(calls) != 1 {
		t.Fatalf("message 1 = %s with %d tool calls, want assistant with 1", got[1].Role, len(calls))
	}
	if calls[0].ID != "call_abc123" || calls[0].Name != "get_weather" || !jsonEqual(calls[0].Arguments, args) {
		t.Errorf("tool call = %+v, want ID call_abc123, name get_weather, arguments %s", calls[0], args)
	}
	if got[2].Role != conversation.RoleTool {
		t.Fatalf("message 2 role = %s, want tool", got[2].Role)
	}
	var res *conversation.ToolResult
	for _, p := range got[2].Parts {
		if p.ToolResult != nil {
			res = p.ToolResult
		}
	}
	if res == nil || res.CallID != "call_abc123" || res.Content != "sunny, 21 °C" {
		t.Errorf("tool result = %+v, want call ID call_abc123 and content %q", res, "sunny, 21 °C")
	}
}

func testToolCallRoundTrip(t *testing.T, h Harness) {
	tg := needTarget(t, h, CallsTool)
	conv := conversation.New().User("What is the weather in Paris?")
	req := tg.request(conv)
	req.Tools = []llm.Tool{weatherTool}
	req.ToolChoice = "required"
	resp := generate(t, tg, req)
	if resp.FinishReason != "tool_calls" {
		t.Errorf("FinishReason = %q, want \"tool_calls\"", resp.FinishReason)
	}
	calls := resp.Message.ToolCalls()
	if len(calls) == 0 {
		t.Fatal("reply has no tool call")
	}
	checkToolCall(t, calls[0])

	// Send the result back: the model answers in text.
	conv.Add(resp.Message)
	for _, c := range calls {
		conv.ToolResult(c.ID, "sunny")
	}
	req2 := tg.request(conv)
	req2.Tools = []llm.Tool{weatherTool} // offered, no longer required
	resp2 := generate(t, tg, req2)
	if resp2.Completion == "" || len(resp2.Message.ToolCalls()) != 0 {
		t.Errorf("after the tool result, reply = %q with %d tool calls, want text and none", resp2.Completion, len(resp2.Message.ToolCalls()))
	}
	if rec, ok := tg.Backend.(Recorder); ok {
		got := rec.LastMessages()
		if n := len(got); n < 3 || len(got[n-2].ToolCalls()) == 0 || got[n-2].ToolCalls()[0].ID != calls[0].ID {
			t.Errorf("the assistant's tool call (ID %q) did not reach the backend before the result", calls[0].ID)
		}
	}
}

func checkToolCall(t *testing.T, c conversation.ToolCall) {
	t.Helper()
	if c.ID == "" {
		t.Error("tool call has no ID")
	}
	if c.Name != weatherTool.Name {
		t.Errorf("tool call name = %q, want %q", c.Name, weatherTool.Name)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(c.Arguments), &obj); err != nil {
		t.Errorf("tool call arguments %q are not a JSON object: %v", c.Arguments, err)
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func testUsage(t *testing.T, h Harness) {
	tg := healthy(t, h)
	resp := generate(t, tg, tg.request(conversation.New().User("Count to three.")))
	if resp.Usage.InputTokens <= 0 || resp.Usage.OutputTokens <= 0 {
		t.Errorf("Usage = %+v, want > 0 input and output tokens", resp.Usage)
	}
}

func testNotMutated(t *testing.T, h Harness) {
	tg := healthy(t, h)
	temp, topP, seed := 0.5, 0.9, int64(7)
	m := tg.Model
	m.Regions = map[string]float64{"region-a": 1}
	req := &llm.Request{
		Model: m,
		Messages: conversation.New().
			System("Be brief.").
			User("What is the weather in Paris?").
			AssistantToolCalls("Let me check.", conversation.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}).
			ToolResult("call_1", "sunny").
			User("Thanks. And tomorrow?").
			Messages(),
		Sampling: llm.Sampling{
			Temperature:  &temp,
			TopP:         &topP,
			MaxNewTokens: 64,
			Seed:         &seed,
			Tools:        []llm.Tool{weatherTool},
			ToolChoice:   "auto",
			User:         "user-1",
			API:          tg.API,
		},
	}
	if tg.API == llm.APIResponses {
		store := false
		req.Store = &store
		req.ReasoningSummary = "auto"
	} else {
		req.Stop = []string{"\n\n"} // the Responses API has no stop sequences
	}
	want := req.Clone()
	generate(t, tg, req)
	if !reflect.DeepEqual(req, want) {
		t.Errorf("Generate modified the request:\n got %+v\nwant %+v", req, want)
	}
	if s, ok := tg.Provider.(llm.Streamer); ok {
		res := collect(t, s.Stream(callCtx(t), req))
		if res.err != nil {
			t.Fatalf("Stream: %v", res.err)
		}
		if !reflect.DeepEqual(req, want) {
			t.Errorf("Stream modified the request:\n got %+v\nwant %+v", req, want)
		}
	}
}

func testCanceled(t *testing.T, h Harness) {
	t.Run("Before", func(t *testing.T) {
		tg := healthy(t, h)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var err error
		within(t, prompt, "Generate with a canceled context", func() {
			_, err = tg.Provider.Generate(ctx, tg.request(conversation.New().User("hi")))
		})
		checkCanceled(t, tg, err)
	})
	t.Run("During", func(t *testing.T) {
		tg := needTarget(t, h, Stalled)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		time.AfterFunc(100*time.Millisecond, cancel)
		var err error
		within(t, prompt, "Generate canceled while the backend stalls", func() {
			_, err = tg.Provider.Generate(ctx, tg.request(conversation.New().User("hi")))
		})
		checkCanceled(t, tg, err)
	})
}

func checkCanceled(t *testing.T, tg Target, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error from a canceled call")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not match context.Canceled", err)
	}
	if c := llm.CodeOf(err); c != llm.CodeCanceled {
		t.Errorf("code = %q, want %q", c, llm.CodeCanceled)
	}
	checkSecrets(t, tg, err)
}

func testDeadline(t *testing.T, h Harness) {
	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("got no error from a call past its deadline")
		}
		if !errors.Is(err, llm.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v matches neither llm.ErrTimeout nor context.DeadlineExceeded", err)
		}
		if c := llm.CodeOf(err); c != llm.CodeTimeout {
			t.Errorf("code = %q, want %q", c, llm.CodeTimeout)
		}
	}
	t.Run("Expired", func(t *testing.T) {
		tg := healthy(t, h)
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		var err error
		within(t, prompt, "Generate with an expired deadline", func() {
			_, err = tg.Provider.Generate(ctx, tg.request(conversation.New().User("hi")))
		})
		check(t, err)
	})
	t.Run("During", func(t *testing.T) {
		tg := needTarget(t, h, Stalled)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		var err error
		within(t, prompt, "Generate past its deadline while the backend stalls", func() {
			_, err = tg.Provider.Generate(ctx, tg.request(conversation.New().User("hi")))
		})
		check(t, err)
	})
}

func testAttempts(t *testing.T, h Harness) {
	tg := healthy(t, h)
	before := requests(tg)
	if before < 0 {
		t.Skip("the target has no Backend to count requests")
	}
	for i := range 3 {
		resp := generate(t, tg, tg.request(conversation.New().User(fmt.Sprintf("Count me, %d.", i))))
		if n := requests(tg) - before; n != attempts(resp) {
			t.Errorf("call %d: Response.Attempts = %d, but the backend received %d requests", i, resp.Attempts, n)
		}
		before = requests(tg)
	}
}

func testFailover(t *testing.T, h Harness) {
	tg := needTarget(t, h, FailingOver)
	most := endpoints(tg)
	if _, ok := tg.Backend.(MultiEndpoint); !ok || most < 2 {
		// A harness written before this condition existed hands out its
		// Healthy target for it.
		t.Skipf("the FailingOver target has %d endpoint: the harness cannot produce the condition (its Backend must implement MultiEndpoint, with 2 or more)", most)
	}
	for i := range 3 {
		before := requests(tg)
		req := tg.request(conversation.New().User(fmt.Sprintf("Fail over, %d.", i)))
		resp := generate(t, tg, req)
		n := requests(tg) - before
		if n != attempts(resp) {
			t.Errorf("call %d: Response.Attempts = %d, but the backend received %d requests", i, resp.Attempts, n)
		}
		if n > most {
			t.Errorf("call %d sent %d requests to %d endpoints: each is tried at most once", i, n, most)
		}
		if i == 0 && n < 2 {
			t.Errorf("the first call sent %d request; the failing endpoint comes first, so it must fail over (2 or more)", n)
		}
		if r, ok := tg.Backend.(Replier); ok {
			if want := r.ExpectedReply(req); resp.Completion != want {
				t.Errorf("call %d: Completion = %q, want the backend's reply %q", i, resp.Completion, want)
			}
		}
	}
	if s, ok := tg.Provider.(llm.Streamer); ok {
		before := requests(tg)
		res := collect(t, s.Stream(callCtx(t), tg.request(conversation.New().User("Stream, failing over."))))
		if res.err != nil {
			t.Errorf("Stream: %v", res.err)
		}
		if n := requests(tg) - before; n < 1 || n > most {
			t.Errorf("a stream sent %d requests to %d endpoints: each is tried at most once", n, most)
		}
	}
}

// --- error cases ---

func errorCase(c Condition, code llm.Code, status int) func(*testing.T, Harness) {
	return func(t *testing.T, h Harness) {
		tg := needTarget(t, h, c)
		req := tg.request(conversation.New().User("hi"))
		before := requests(tg)
		_, err := tg.Provider.Generate(callCtx(t), req)
		checkError(t, tg, err, code, status)
		if before >= 0 {
			if n, most := requests(tg)-before, endpoints(tg); n < 1 || n > most {
				t.Errorf("backend received %d requests for one Generate, want 1, or at most one per endpoint (%d) (retries are the llm.Client's job)", n, most)
			}
		}
		if s, ok := tg.Provider.(llm.Streamer); ok {
			res := collect(t, s.Stream(callCtx(t), req))
			if len(res.chunks) > 0 {
				t.Errorf("failed stream yielded %d chunks before its error", len(res.chunks))
			}
			checkError(t, tg, res.err, code, status)
		}
	}
}

func checkError(t *testing.T, tg Target, err error, code llm.Code, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Fatalf("error %T %v is not an *llm.Error", err, err)
	}
	if le.Code != code {
		t.Errorf("Code = %q, want %q (error: %v)", le.Code, code, err)
	}
	if !errors.Is(err, code.Sentinel()) {
		t.Errorf("error does not match the sentinel %v", code.Sentinel())
	}
	if le.StatusCode != status {
		t.Errorf("StatusCode = %d, want %d", le.StatusCode, status)
	}
	if le.Model != tg.Model.ID {
		t.Errorf("Error.Model = %q, want the model ID %q", le.Model, tg.Model.ID)
	}
	if le.Provider == "" {
		t.Error("Error.Provider is empty")
	}
	if code == llm.CodeRateLimited {
		if le.RetryAfter <= 0 {
			t.Errorf("RetryAfter = %v, want > 0 (the backend sent a retry delay)", le.RetryAfter)
		}
		if !le.Retryable() {
			t.Error("a rate-limit error must be Retryable")
		}
	}
	checkSecrets(t, tg, err)
}

// --- stream cases ---

func testStreamMatches(t *testing.T, h Harness) {
	tg := healthy(t, h)
	s := streamer(t, tg)
	req := tg.request(conversation.New().System("Be brief.").User("Name three colours."))
	resp := generate(t, tg, req)
	res := collect(t, s.Stream(callCtx(t), req))
	if res.err != nil {
		t.Fatalf("Stream: %v", res.err)
	}
	if res.text != resp.Completion {
		t.Errorf("streamed text = %q, want Generate's %q", res.text, resp.Completion)
	}
	var finishes []string
	for _, c := range res.chunks {
		if c.FinishReason != "" {
			finishes = append(finishes, c.FinishReason)
		}
	}
	if len(finishes) != 1 || finishes[0] != resp.FinishReason {
		t.Errorf("finish reasons in the stream = %q, want exactly [%q]", finishes, resp.FinishReason)
	}
	if resp.RequestID != "" && (len(res.chunks) == 0 || res.chunks[0].RequestID == "") {
		t.Error("Generate reports a request ID but the first chunk carries none")
	}
}

func testStreamUsage(t *testing.T, h Harness) {
	tg := healthy(t, h)
	s := streamer(t, tg)
	res := collect(t, s.Stream(callCtx(t), tg.request(conversation.New().User("Count to three."))))
	if res.err != nil {
		t.Fatalf("Stream: %v", res.err)
	}
	for _, c := range res.chunks {
		if c.Usage != nil && c.Usage.InputTokens > 0 && c.Usage.OutputTokens > 0 {
			return
		}
	}
	t.Error("no chunk carries usage with > 0 input and output tokens")
}

func testStreamToolCall(t *testing.T, h Harness) {
	tg := needTarget(t, h, CallsTool)
	s := streamer(t, tg)
	req := tg.request(conversation.New().User("What is the weather in Paris?"))
	req.Tools = []llm.Tool{weatherTool}
	req.ToolChoice = "required"
	res := collect(t, s.Stream(callCtx(t), req))
	if res.err != nil {
		t.Fatalf("Stream: %v", res.err)
	}
	var calls []conversation.ToolCall
	carriers, finish := 0, ""
	for _, c := range res.chunks {
		if len(c.ToolCalls) > 0 {
			carriers++
			calls = append(calls, c.ToolCalls...)
		}
		if c.FinishReason != "" {
			finish = c.FinishReason
		}
	}
	if carriers != 1 {
		t.Errorf("%d chunks carry tool calls, want exactly 1 (calls are yielded once, whole)", carriers)
	}
	if len(calls) == 0 {
		t.Fatal("stream yielded no tool call")
	}
	checkToolCall(t, calls[0])
	if finish != "tool_calls" {
		t.Errorf("finish reason = %q, want \"tool_calls\"", finish)
	}
}

func testEarlyBreak(t *testing.T, h Harness) {
	t.Run("ProviderStaysUsable", func(t *testing.T) {
		tg := healthy(t, h)
		s := streamer(t, tg)
		req := tg.request(conversation.New().User("Tell me a story."))
		within(t, prompt, "breaking out of a stream", func() {
			for range s.Stream(callCtx(t), req) {
				break
			}
		})
		generate(t, tg, req)
	})
	t.Run("ConnectionReleased", func(t *testing.T) {
		tg := needTarget(t, h, Stalled)
		s := streamer(t, tg)
		inf, ok := tg.Backend.(InFlighter)
		if !ok {
			t.Skip("backend does not implement providertest.InFlighter: cannot see the request end")
		}
		got := make(chan bool, 1)
		go func() {
			first := false
			for _, err := range s.Stream(callCtx(t), tg.request(conversation.New().User("Tell me a story."))) {
				first = err == nil
				break
			}
			got <- first
		}()
		select {
		case first := <-got:
			if !first {
				t.Fatal("the Stalled backend's stream yielded an error instead of its first chunk")
			}
		case <-time.After(prompt):
			t.Fatalf("no first chunk within %v: a Stalled backend must send one before stalling", prompt)
		}
		deadline := time.Now().Add(prompt)
		for inf.InFlight() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("backend still serves %d request(s) %v after the loop broke: the connection was not released", inf.InFlight(), prompt)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func testStreamCanceled(t *testing.T, h Harness) {
	check := func(t *testing.T, tg Target, res streamed) {
		t.Helper()
		if res.err == nil {
			t.Fatal("a canceled stream ended without an error")
		}
		checkCanceled(t, tg, res.err)
	}
	t.Run("Before", func(t *testing.T) {
		tg := healthy(t, h)
		s := streamer(t, tg)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var res streamed
		within(t, prompt, "Stream with a canceled context", func() {
			res = collect(t, s.Stream(ctx, tg.request(conversation.New().User("hi"))))
		})
		check(t, tg, res)
	})
	t.Run("During", func(t *testing.T) {
		tg := needTarget(t, h, Stalled)
		s := streamer(t, tg)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// Cancel at the first chunk, or after a moment if the backend
		// stalls before sending one.
		timer := time.AfterFunc(200*time.Millisecond, cancel)
		defer timer.Stop()
		var res streamed
		within(t, prompt, "Stream canceled while the backend stalls", func() {
			seq := s.Stream(ctx, tg.request(conversation.New().User("hi")))
			res = collect(t, func(yield func(*llm.Chunk, error) bool) {
				for c, err := range seq {
					if err == nil {
						cancel()
					}
					if !yield(c, err) {
						return
					}
				}
			})
		})
		check(t, tg, res)
	})
}

// --- concurrency ---

func testConcurrency(t *testing.T, h Harness) {
	tg := healthy(t, h)
	s, canStream := tg.Provider.(llm.Streamer)
	rep, canPredict := tg.Backend.(Replier)
	before := requests(tg)
	ctx := callCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, concurrency)
	for i := range concurrency {
		wg.Go(func() {
			req := tg.request(conversation.New().User(fmt.Sprintf("This is message number %d.", i)))
			var text string
			if canStream && i%2 == 1 {
				res := collect(t, s.Stream(ctx, req))
				if res.err != nil {
					errs[i] = fmt.Errorf("Stream %d: %w", i, res.err)
					return
				}
				text = res.text
			} else {
				resp, err := tg.Provider.Generate(ctx, req)
				if err != nil {
					errs[i] = fmt.Errorf("Generate %d: %w", i, err)
					return
				}
				text = resp.Completion
			}
			if canPredict {
				if want := rep.ExpectedReply(req); text != want {
					errs[i] = fmt.Errorf("call %d got %q, want its own reply %q", i, text, want)
				}
			} else if text == "" {
				errs[i] = fmt.Errorf("call %d got an empty reply", i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if before >= 0 {
		if n := requests(tg) - before; n != concurrency {
			t.Errorf("backend received %d requests for %d calls, want one each", n, concurrency)
		}
	}
}
