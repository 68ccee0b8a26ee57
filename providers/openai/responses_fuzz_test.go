package openai

import (
	"net/http"
	"strings"
	"testing"

	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Fuzz targets for the parsers of the Responses API and embeddings: a reply
// body, an event stream, an embeddings body. Whatever the server sends, the
// provider returns an *llm.Error or a well-formed result, and never the key.

var fuzzResponsesRequest = func() *llm.Request {
	r := *fuzzRequest
	r.API = llm.APIResponses
	return &r
}()

func FuzzResponsesGenerate(f *testing.F) {
	for _, name := range []string{"aoai_responses_create_v1_gpt41nano.doc.json", "aoai_responses_reasoning_gpt5_v1.doc.json"} {
		f.Add(200, fixture.Azure(f, name))
	}
	f.Add(200, []byte(`{"status":"failed","error":{"code":"server_error","message":"`+fuzzKey+`"}}`))
	f.Add(200, []byte(`{"status":"incomplete","incomplete_details":{"reason":"content_filter"},"content_filters":[{"blocked":true,"source_type":"completion","content_filter_results":{"custom_blocklists":{"filtered":true,"details":[{"id":"`+fuzzKey+`","filtered":true}]}}}]}`))
	f.Add(200, []byte(`{"output":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"reasoning","summary":[{"text":"s"}]}]}`))
	f.Add(429, []byte(`{"error":{"code":"429","message":"Rate limit. Please retry after 7 seconds."}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		p := fuzzProvider(t, fuzzDoer{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: body}, 1<<20)
		resp, err := p.Generate(t.Context(), fuzzResponsesRequest)
		checkOutputs(t, resp, err)
		if err == nil && resp == nil {
			t.Fatal("neither a response nor an error")
		}
		if resp != nil {
			_, err = p.Poll(t.Context(), fuzzResponsesRequest, &llm.Response{ResponseID: "resp_1"})
			checkOutputs(t, nil, err)
		}
	})
}

func FuzzResponsesStream(f *testing.F) {
	f.Add([]byte("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"model\":\"m\"}}\n\n" +
		"data: {\"type\":\"response.output_text.delta\",\"delta\":\"he\\\"llo\"}\n\n" +
		"data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"status\":\"completed\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}}\n\n"))
	f.Add([]byte("data: {\"type\":\"response.output_item.added\",\"item\":{\"type\":\"function_call\",\"id\":\"fc\",\"call_id\":\"c\",\"name\":\"f\"}}\n\n" +
		"data: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc\",\"delta\":\"{}\"}\n\n" +
		"data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\",\"message\":\"" + fuzzKey + "\"}}}\n\n"))
	f.Add([]byte("data: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"slow\"}\n\n"))
	f.Add([]byte("data: {\"type\":\"response.reasoning_summary_text.delta\",\"summary_index\":1,\"delta\":{\"x\":1}}\ndata: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p := fuzzProvider(t, fuzzDoer{status: 200, header: http.Header{"Content-Type": {"text/event-stream"}}, body: body}, 1<<16)
		errs := 0
		for c, err := range p.Stream(t.Context(), fuzzResponsesRequest) {
			if errs > 0 {
				t.Fatal("an element after the stream's error")
			}
			if err != nil {
				errs++
				checkOutputs(t, nil, err)
				continue
			}
			if c == nil {
				t.Fatal("a nil chunk without an error")
			}
			checkOutputs(t, c, nil)
		}
	})
}

func FuzzEmbed(f *testing.F) {
	f.Add([]byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPwAAAL8="}],"model":"m","usage":{"prompt_tokens":2}}`))
	f.Add([]byte(`{"data":[{"index":0,"embedding":[0.5,-1e3]}],"usage":{"prompt_tokens":1}}`))
	f.Add([]byte(`{"data":[{"index":3,"embedding":"AAAA"}]}`))
	f.Add([]byte(`{"data":[{"index":0,"embedding":"AAA\/"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p := fuzzProvider(t, fuzzDoer{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: body}, 1<<20)
		req := &llm.EmbedRequest{Model: registry.Model{ID: "e", Provider: "fuzz", Name: "text-embedding-3-small"}, Inputs: []string{"hi"}}
		resp, err := p.Embed(t.Context(), req)
		checkOutputs(t, nil, err)
		if err == nil {
			if resp == nil || len(resp.Vectors) != 1 {
				t.Fatalf("want one vector, got %+v", resp)
			}
			if strings.Contains(resp.RequestID+resp.ServedModel, fuzzKey) {
				t.Fatal("the key leaked")
			}
		}
	})
}
