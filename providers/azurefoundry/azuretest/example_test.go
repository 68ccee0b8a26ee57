package azuretest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

func ExampleNewServer() {
	srv := azuretest.NewServer(
		azuretest.WithAPIKeys("test-key"),
		azuretest.WithDeployment("gpt-4o", ""), // DefaultModel: gpt-4o-2024-11-20
	)
	defer srv.Close()

	body := `{"messages":[{"role":"user","content":"Hello"}]}`
	req, _ := http.NewRequest(http.MethodPost,
		srv.URL+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
		strings.NewReader(body))
	req.Header.Set("api-key", "test-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()

	var out struct {
		Model   string
		Choices []struct {
			Message struct{ Content string }
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, out.Model)
	fmt.Println(out.Choices[0].Message.Content)
	fmt.Println(out.Usage.PromptTokens == azuretest.PromptTokens("Hello"), out.Usage.CompletionTokens)
	// Output:
	// 200 gpt-4o-2024-11-20
	// Echo: Hello
	// true 3
}

func ExampleExpectedReply() {
	fmt.Println(azuretest.ExpectedReply("What is 2+2?"))
	fmt.Println(azuretest.ExpectedJSONReply("hi"))
	fmt.Println(azuretest.CountTokens(azuretest.ExpectedReply("What is 2+2?")))
	fmt.Printf("%q\n", azuretest.SplitReply(azuretest.ExpectedReply("a b")))
	// Output:
	// Echo: What is 2+2?
	// {"reply":"Echo: hi"}
	// 5
	// ["Echo:" " a" " b"]
}

func ExampleParseDeployments() {
	deps, err := azuretest.ParseDeployments("gpt-4o,o3-mini=o3-mini-2025-01-31,my-model")
	if err != nil {
		panic(err)
	}
	names := make([]string, 0, len(deps))
	for name := range deps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Println(name, "→", deps[name], azuretest.IsReasoningModel(deps[name]))
	}
	// Output:
	// gpt-4o → gpt-4o-2024-11-20 false
	// my-model → my-model false
	// o3-mini → o3-mini-2025-01-31 true
}

// A deployment with a quota answers 429 with retry-after-ms once a client
// exceeds it. WithClock freezes time so the example is exact.
func ExampleWithRateLimit() {
	frozen := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := azuretest.NewServer(
		azuretest.WithDeployment("gpt-4o", ""),
		azuretest.WithRateLimit("gpt-4o", 300, 0), // 5 a second, 50 per 10 s
		azuretest.WithClock(func() time.Time { return frozen }),
	)
	defer srv.Close()

	url := srv.URL + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
	for i := 1; i <= 6; i++ {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Println(i, resp.StatusCode, "retry-after-ms:", resp.Header.Get("retry-after-ms"))
		}
	}
	fmt.Println("429s:", srv.Stats().RateLimited)
	// Output:
	// 6 429 retry-after-ms: 1000
	// 429s: 1
}

func Example_stream() {
	srv := azuretest.NewServer()
	defer srv.Close()
	body := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"one two"}]}`
	resp, err := http.Post(srv.URL+"/openai/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			fmt.Println("[DONE]")
			break
		}
		var chunk struct {
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			panic(err)
		}
		if len(chunk.Choices) == 0 {
			fmt.Println("(prompt filter results)")
			continue
		}
		c := chunk.Choices[0]
		if c.FinishReason != nil {
			fmt.Println("finish:", *c.FinishReason)
		} else {
			fmt.Printf("%q\n", c.Delta.Content)
		}
	}
	// Output:
	// (prompt filter results)
	// ""
	// "Echo:"
	// " one"
	// " two"
	// finish: stop
	// [DONE]
}

func ExampleHandler_LastRequest() {
	srv := azuretest.NewServer()
	defer srv.Close()
	body := `{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`
	resp, err := http.Post(srv.URL+"/openai/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	last, _ := srv.LastRequest()
	fmt.Println(last.Deployment, last.APIVersion, srv.Requests())
	for _, m := range last.Messages {
		fmt.Printf("%s: %s\n", m.Role, m.Content)
	}
	// Output:
	// gpt-4o v1 1
	// system: Be brief.
	// user: Hi
}

// A stalled stream sends its first content chunk, then waits for the client
// to leave; InFlight shows when the emulator has seen it go.
func ExampleFaults_stall() {
	srv := azuretest.NewServer(azuretest.WithFaults(azuretest.Faults{RateStall: 1, StallAfter: 1}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
		"application/json", strings.NewReader(`{"stream":true,"messages":[{"role":"user","content":"Tell me a story"}]}`))
	if err != nil {
		panic(err)
	}
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			panic(err)
		}
		if strings.Contains(line, `"content":"Echo:"`) {
			break // the first content chunk
		}
	}
	fmt.Println("in flight:", srv.InFlight())
	resp.Body.Close() // stop reading early
	for srv.InFlight() > 0 {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("in flight:", srv.InFlight(), "closed by client:", srv.Stats().ByStatus[azuretest.StatusClientClosed])
	// Output:
	// in flight: 1
	// in flight: 0 closed by client: 1
}
