package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The wire-free figures run every client against memDoer, an
// http.RoundTripper that answers from memory with a canned Azure reply:
// no socket, no server goroutine, so what is measured is the client's own
// work (building the request, writing the body, decoding the reply).

// Canned bodies: the layout Azure OpenAI sends today for a non-streaming
// chat completion (the recorded reply in fixtures/azure
// aoai_chat_completion_gpt4_2025-01-01-preview, with the annotation set of
// current deployments: jailbreak in the prompt filter, protected material
// in the completion filter, usage details). The small body is about
// 1.4 KB, the size of a short answer; the large one about 10 KB, a page of
// text.
var (
	smallBody = completionBody(smallContent, 42, 29)
	largeBody = completionBody(largeContent(), 42, 2210)
)

// smallContent is the fixture's answer followed by a short sentence, so
// that the body is about 1.4 KB like the emulator's reply to a
// one-paragraph prompt.
const smallContent = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10. Counting in tens works the same way, one step at a time from the first: " +
	"10, 20, 30, 40, 50, 60, 70, 80, 90, 100. Each step adds ten, and a hundred is ten steps of ten."

// largeContent is about 8.8 KB of prose with the characters JSON escapes
// (quotes, newlines), like a long answer.
func largeContent() string {
	const para = "Rate limits on Azure OpenAI are set per deployment, in tokens per minute, " +
		"and a proportional number of requests per minute is derived from them. A client that " +
		"sends \"bursts\" larger than a ten-second share of the quota gets HTTP 429 with a " +
		"retry-after-ms header, even when the minute's total is well under the limit.\n\n"
	var b strings.Builder
	for b.Len() < 8800 {
		b.WriteString(para)
	}
	return b.String()
}

const (
	annotationsPrompt = `{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`
	annotationsChoice = `{"hate":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`
	annotationsChunk  = `{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`
	completionID      = "chatcmpl-AxJxBsfdmtLnBXoxoaN5R3Y3zs0Q5"
	servedModel       = "gpt-4o-2024-11-20"
	fingerprintValue  = "fp_4491db0c89"
)

// completionBody renders a chat.completion body with content as the
// assistant's reply.
func completionBody(content string, promptTokens, completionTokens int) []byte {
	q, _ := json.Marshal(content)
	return fmt.Appendf(nil, `{"choices":[{"content_filter_results":%s,"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":%s,"refusal":null,"role":"assistant"}}],"created":1738701397,"id":%q,"model":%q,"object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":%s}],"system_fingerprint":%q,"usage":{"completion_tokens":%d,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0},"prompt_tokens":%d,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0},"total_tokens":%d}}`,
		annotationsChoice, q, completionID, servedModel, annotationsPrompt, fingerprintValue,
		completionTokens, promptTokens, promptTokens+completionTokens)
}

// streamBody renders an Azure SSE stream with the recorded layout: a
// prompt-filter-only event, a role chunk, one annotated chunk per piece,
// a finish chunk, the usage chunk and [DONE].
func streamBody(pieces []string) []byte {
	var b bytes.Buffer
	meta := fmt.Sprintf(`"created":1738701418,"id":%q,"model":%q,"object":"chat.completion.chunk","system_fingerprint":%q`, completionID, servedModel, fingerprintValue)
	fmt.Fprintf(&b, "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":%s}]}\n\n", annotationsPrompt)
	fmt.Fprintf(&b, "data: {\"choices\":[{\"content_filter_results\":{},\"delta\":{\"content\":\"\",\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],%s,\"usage\":null}\n\n", meta)
	for _, p := range pieces {
		q, _ := json.Marshal(p)
		fmt.Fprintf(&b, "data: {\"choices\":[{\"content_filter_results\":%s,\"delta\":{\"content\":%s},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],%s,\"usage\":null}\n\n", annotationsChunk, q, meta)
	}
	fmt.Fprintf(&b, "data: {\"choices\":[{\"content_filter_results\":{},\"delta\":{},\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null}],%s,\"usage\":null}\n\n", meta)
	fmt.Fprintf(&b, "data: {\"choices\":[],%s,\"usage\":{\"completion_tokens\":%d,\"prompt_tokens\":42,\"total_tokens\":%d}}\n\n", meta, len(pieces), 42+len(pieces))
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// streamPieces returns n content pieces like a model's tokens.
func streamPieces(n int) []string {
	words := []string{"1", ",", " ", "2", ",", " ", "3", ".", " The", " next", " number", " is"}
	out := make([]string, n)
	for i := range out {
		out[i] = words[i%len(words)]
	}
	return out
}

// Stream sizes: the short stream has the content chunks of the recorded
// one; the long one enough chunks that the per-chunk cost dominates.
const (
	shortChunks = 4
	longChunks  = 404
)

var (
	shortStream = streamBody(streamPieces(shortChunks))
	longStream  = streamBody(streamPieces(longChunks))
)

// replyHeader is the header of a recorded Azure reply (rate-limit headers
// included, which deluge inspects).
func replyHeader(contentType string) http.Header {
	return http.Header{
		"Content-Type":                   {contentType},
		"Apim-Request-Id":                {"61298fc7-a82b-4586-bf20-d4757584e833"},
		"X-Request-Id":                   {"b273931d-0946-46a0-b603-7758626ddc5e"},
		"X-Ms-Region":                    {"East US"},
		"X-Ms-Rai-Invoked":               {"true"},
		"X-Ms-Client-Request-Id":         {"Sanitized"},
		"Azureml-Model-Session":          {"d058-20241218020907"},
		"Cache-Control":                  {"must-revalidate, no-cache"},
		"Strict-Transport-Security":      {"max-age=31536000; includeSubDomains; preload"},
		"X-Content-Type-Options":         {"nosniff"},
		"X-Envoy-Upstream-Service-Time":  {"753"},
		"X-Ratelimit-Remaining-Requests": {"4999"},
		"X-Ratelimit-Remaining-Tokens":   {"449000"},
	}
}

// memDoer answers every request from memory with body. It reads the
// request body to the end, as a server would, and hands each response a
// fresh header map and reader, as a transport does.
type memDoer struct {
	body   []byte
	header http.Header
}

func newMemDoer(body []byte, contentType string) *memDoer {
	return &memDoer{body: body, header: replyHeader(contentType)}
}

// RoundTrip implements http.RoundTripper.
func (d *memDoer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	h := make(http.Header, len(d.header))
	for k, v := range d.header {
		h[k] = v
	}
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(d.body)),
		ContentLength: int64(len(d.body)),
		Request:       req,
	}, nil
}
