package openai_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// A batch.Service writes each request as a synchronous call would send
// it: a chat completion, or a Responses API request for a request that
// goes there (a Responses-only model, or llm.WithAPI(llm.APIResponses)),
// with the url and job endpoint of its API. Package batch puts the two
// kinds in files and jobs of their own.
func ExampleNewBatchService() {
	m := registry.Model{ID: "gpt-4o-mini", Provider: openai.ProviderName, Name: "gpt-4o-mini"}
	svc, err := openai.NewBatchService(openai.BatchConfig{Model: m, BaseURL: "https://api.openai.com/v1", Doer: http.DefaultClient})
	if err != nil {
		log.Fatal(err)
	}
	msgs := conversation.New().User("Hi!").Messages()
	for _, api := range []llm.API{llm.APIChat, llm.APIResponses} {
		req := &llm.Request{Model: m, Messages: msgs, Sampling: llm.Sampling{API: api, MaxNewTokens: 50}}
		line, err := svc.Line("q1", req)
		if err != nil {
			log.Fatal(err)
		}
		endpoint := svc.(batch.Endpointer).Endpoint(req)
		if endpoint == "" {
			endpoint = "the default, /v1/chat/completions"
		}
		fmt.Printf("%s\n  job endpoint: %s\n", line, endpoint)
	}
	// Output:
	// {"custom_id":"q1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi!"}],"max_tokens":50,"stream":false}}
	//   job endpoint: the default, /v1/chat/completions
	// {"custom_id":"q1","method":"POST","url":"/v1/responses","body":{"model":"gpt-4o-mini","input":[{"type":"message","role":"user","content":"Hi!"}],"max_output_tokens":50,"store":false}}
	//   job endpoint: /v1/responses
}
