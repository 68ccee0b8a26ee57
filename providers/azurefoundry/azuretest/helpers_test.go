package azuretest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/clocktest"
	"github.com/deluge-go/deluge/internal/fixture"
)

// readFixture returns a recorded Azure response from the repository's
// fixtures/azure.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Azure(t, name)
}

// recording is one recorded exchange (see package internal/fixture).
type recording = fixture.Recording

func readRecording(t *testing.T, name string) recording { return fixture.AzureRecording(t, name) }

// decode parses JSON into generic values.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v), "body: %s", b)
	return v
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// shapeDiff lists where got's structure differs from want's: every key of
// want must be in got with the same JSON type, recursively; array elements of
// got are compared with want's first element. Keys of got missing from want
// are errors unless their path is in extra; a type mismatch at a path in
// nullable is allowed when one side is null. Paths look like
// "choices[].message.content".
func shapeDiff(want, got any, extra, nullable []string) []string {
	var diffs []string
	var walk func(path string, w, g any)
	walk = func(path string, w, g any) {
		wt, gt := jsonType(w), jsonType(g)
		if wt != gt {
			if slices.Contains(nullable, path) && (wt == "null" || gt == "null") {
				return
			}
			diffs = append(diffs, fmt.Sprintf("%s: want %s, got %s", path, wt, gt))
			return
		}
		switch wv := w.(type) {
		case map[string]any:
			gv := g.(map[string]any)
			for k, wc := range wv {
				gc, ok := gv[k]
				if !ok {
					diffs = append(diffs, fmt.Sprintf("%s: missing key %q", path, k))
					continue
				}
				walk(join(path, k), wc, gc)
			}
			for k := range gv {
				if _, ok := wv[k]; !ok && !slices.Contains(extra, join(path, k)) {
					diffs = append(diffs, fmt.Sprintf("%s: unexpected key %q", path, k))
				}
			}
		case []any:
			gv := g.([]any)
			if len(wv) == 0 {
				if len(gv) != 0 {
					diffs = append(diffs, fmt.Sprintf("%s: want empty array, got %d elements", path, len(gv)))
				}
				return
			}
			if len(gv) == 0 {
				diffs = append(diffs, fmt.Sprintf("%s: want elements, got empty array", path))
			}
			for _, gc := range gv {
				walk(path+"[]", wv[0], gc)
			}
		}
	}
	walk("", want, got)
	slices.Sort(diffs)
	return diffs
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func requireSameShape(t *testing.T, want, got []byte, extra, nullable []string) {
	t.Helper()
	diffs := shapeDiff(decode(t, want), decode(t, got), extra, nullable)
	require.Empty(t, diffs, "structure differs from fixture; got body:\n%s", got)
}

// sseEvents splits an SSE body into the payloads of its "data: " lines.
func sseEvents(t *testing.T, body []byte) []string {
	t.Helper()
	var events []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			events = append(events, data)
		} else {
			require.Empty(t, strings.TrimSpace(line), "unexpected SSE line %q", line)
		}
	}
	require.NoError(t, sc.Err())
	return events
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, client *http.Client, method, url string, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// classicURL is the classic chat completions URL of a deployment.
func classicURL(s *Server, deployment, apiVersion string) string {
	return s.URL + "/openai/deployments/" + deployment + "/chat/completions?api-version=" + apiVersion
}

func userBody(prompt string, extra string) string {
	p, _ := json.Marshal(prompt)
	b := `{"messages":[{"role":"user","content":` + string(p) + `}]`
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

// completion is the part of a chat.completion tests read.
type completion struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		FinishReason string `json:"finish_reason"`
		Message      struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
		ContentFilterResults map[string]json.RawMessage `json:"content_filter_results"`
	} `json:"choices"`
	Usage struct {
		PromptTokens            int `json:"prompt_tokens"`
		CompletionTokens        int `json:"completion_tokens"`
		TotalTokens             int `json:"total_tokens"`
		CompletionTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
}

func decodeCompletion(t *testing.T, b []byte) completion {
	t.Helper()
	var c completion
	require.NoError(t, json.Unmarshal(b, &c), "body: %s", b)
	require.Len(t, c.Choices, 1, "body: %s", b)
	return c
}

// fakeClock is a manually advanced clock.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) }
