package openai_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/providertest"
)

// fakeOpenAI is an in-process OpenAI chat completions server for tests. Its
// reply to a request is "echo: " plus the last user message's text; it
// streams one word per event with a usage event at the end, calls the first
// tool when tool_choice is "required", and it can be told to reject the key,
// not know the model, rate-limit or stall.
type fakeOpenAI struct {
	*httptest.Server
	key   string
	model string
	cond  providertest.Condition

	requests atomic.Int64
	inFlight atomic.Int64

	mu       sync.Mutex
	lastBody []byte
	auth     string
}

func newFakeOpenAI(t testing.TB, key, model string, cond providertest.Condition) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{key: key, model: model, cond: cond}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// Calls implements providertest.Backend.
func (f *fakeOpenAI) Calls() int { return int(f.requests.Load()) }

// InFlight implements providertest.InFlighter.
func (f *fakeOpenAI) InFlight() int { return int(f.inFlight.Load()) }

// ExpectedReply implements providertest.Replier.
func (f *fakeOpenAI) ExpectedReply(req *llm.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == conversation.RoleUser {
			return "echo: " + req.Messages[i].Text()
		}
	}
	return "echo: "
}

// LastMessages implements providertest.Recorder, reading the wire JSON back
// with conversation's OpenAI-format decoder.
func (f *fakeOpenAI) LastMessages() []conversation.Message {
	f.mu.Lock()
	body := f.lastBody
	f.mu.Unlock()
	var w struct {
		Messages json.RawMessage `json:"messages"`
	}
	if json.Unmarshal(body, &w) != nil {
		return nil
	}
	var conv conversation.Conversation
	if err := conv.UnmarshalJSON(w.Messages); err != nil {
		return nil
	}
	return conv.Messages()
}

// lastAuth returns the Authorization header of the most recent request.
func (f *fakeOpenAI) lastAuth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.auth
}

// LastBody returns the JSON body of the most recent request.
func (f *fakeOpenAI) LastBody() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastBody
}

type fakeRequest struct {
	Model    string            `json:"model"`
	Messages []json.RawMessage `json:"messages"`
	Stream   bool              `json:"stream"`
	Tools    []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice    any `json:"tool_choice"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-request-id", "req_fake_error")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":%q,"param":null,"code":%q}}`, msg, typ, code)
}

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "cannot read body")
		return
	}
	f.mu.Lock()
	f.lastBody = raw
	f.auth = r.Header.Get("Authorization")
	f.mu.Unlock()

	if got := r.Header.Get("Authorization"); f.key != "" && got != "Bearer "+f.key {
		// A careless server that echoes the whole key: the provider must
		// redact it.
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
			"Incorrect API key provided: "+strings.TrimPrefix(got, "Bearer ")+". You can find your API key at https://platform.openai.com/account/api-keys.")
		return
	}
	var req fakeRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "We could not parse the JSON body of your request.")
		return
	}
	if req.Model != f.model {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found",
			fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", req.Model))
		return
	}
	switch f.cond {
	case providertest.RateLimited:
		w.Header().Set("retry-after-ms", "1500")
		w.Header().Set("retry-after", "2")
		writeError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
			"Rate limit reached for "+f.model+" on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1.5s.")
		return
	case providertest.Stalled:
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			fmt.Fprintf(w, "data: %s\n\n", chunkJSON(f.model, `{"role":"assistant","content":"Once"}`, "", ""))
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
		return
	}

	var msgs conversation.Conversation
	all, _ := json.Marshal(req.Messages)
	if err := msgs.UnmarshalJSON(all); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", err.Error())
		return
	}
	last, _ := msgs.Last()
	var reply, toolName string
	if len(req.Tools) > 0 && req.ToolChoice == "required" && last.Role == conversation.RoleUser {
		toolName = req.Tools[0].Function.Name
	} else {
		reply = "echo: "
		for _, m := range msgs.Messages() {
			if m.Role == conversation.RoleUser {
				reply = "echo: " + m.Text()
			}
		}
	}
	promptTokens := len(all)/4 + 1 // from the messages only, so stream and non-stream agree
	completionTokens := len(strings.Fields(reply)) + 1
	usage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`,
		promptTokens, completionTokens, promptTokens+completionTokens)

	w.Header().Set("x-request-id", "req_fake_123")
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		var msg, finish string
		if toolName != "" {
			msg = fmt.Sprintf(`{"role":"assistant","content":null,"tool_calls":[{"id":"call_fake_1","type":"function","function":{"name":%q,"arguments":"{\"city\":\"Paris\"}"}}]}`, toolName)
			finish = "tool_calls"
		} else {
			msg = fmt.Sprintf(`{"role":"assistant","content":%q}`, reply)
			finish = "stop"
		}
		fmt.Fprintf(w, `{"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,"model":%q,"choices":[{"index":0,"message":%s,"logprobs":null,"finish_reason":%q}],"usage":%s,"system_fingerprint":"fp_fake"}`,
			f.model+"-2025-01-01", msg, finish, usage)
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	send := func(s string) {
		fmt.Fprintf(w, "data: %s\n\n", s)
		fl.Flush()
	}
	model := f.model + "-2025-01-01"
	send(chunkJSON(model, `{"role":"assistant","content":""}`, "", ""))
	if toolName != "" {
		// Fragments as OpenAI sends them: id and name first, then
		// argument pieces.
		send(chunkJSON(model, fmt.Sprintf(`{"tool_calls":[{"index":0,"id":"call_fake_1","type":"function","function":{"name":%q,"arguments":""}}]}`, toolName), "", ""))
		send(chunkJSON(model, `{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, "", ""))
		send(chunkJSON(model, `{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, "", ""))
		send(chunkJSON(model, `{}`, "tool_calls", ""))
	} else {
		words := strings.SplitAfter(reply, " ")
		for _, wd := range words {
			if wd == "" {
				continue
			}
			b, _ := json.Marshal(wd)
			send(chunkJSON(model, `{"content":`+string(b)+`}`, "", ""))
		}
		send(chunkJSON(model, `{}`, "stop", ""))
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(fmt.Sprintf(`{"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%q,"choices":[],"usage":%s}`, model, usage))
	}
	send("[DONE]")
}

func chunkJSON(model, delta, finish, extra string) string {
	fr := "null"
	if finish != "" {
		fr = `"` + finish + `"`
	}
	return fmt.Sprintf(`{"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%q,"choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]%s}`,
		model, delta, fr, extra)
}
