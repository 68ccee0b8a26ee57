package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	oaigo "github.com/openai/openai-go/v3"
	oaigoresponses "github.com/openai/openai-go/v3/responses"
	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
)

// The Responses API and embeddings figures: deluge's whole path against
// the same call made directly, through the in-memory doer (the client's
// own cost; the wire is the same for everyone).
//
//   - responses: llm.Client.Generate on the Responses API
//     (llm.WithAPI(llm.APIResponses), azure-foundry, v1 route) against a
//     hand-written net/http + encoding/json call (the leanest client
//     there is), openai-go's Responses.New with its azure options, and —
//     the budget's reference — go-openai's chat completion of the same
//     prompt.
//   - embeddings: llm.Client.Embed of 16 inputs (one request, 1,536
//     dimensions) against go-openai's CreateEmbeddings of the same inputs;
//     both ask for base64 vectors (deluge always does), so the reply is
//     the same bytes.

// respembResult is the figure.
type respembResult struct {
	Responses  *responsesSet  `json:"responses"`
	Embeddings *embeddingsSet `json:"embeddings"`
	Rounds     int            `json:"rounds"`
}

type responsesSet struct {
	BodyBytes           int     `json:"body_bytes"`
	DelugeNsPerOp       float64 `json:"deluge_ns_per_op"`
	RawNsPerOp          float64 `json:"raw_http_ns_per_op"`
	OpenaigoNsPerOp     float64 `json:"openaigo_ns_per_op"`
	ChatGoopenaiNsPerOp float64 `json:"chat_goopenai_ns_per_op"`
	RatioVsRaw          float64 `json:"ratio_vs_raw_http"`
	RatioVsOpenaigo     float64 `json:"ratio_vs_openaigo"`
	RatioVsChatGoopenai float64 `json:"ratio_vs_chat_goopenai"`
	AddedUsVsRaw        float64 `json:"added_us_vs_raw_http"`
	DelugeAllocs        float64 `json:"deluge_allocs_per_op"`
	RawAllocs           float64 `json:"raw_http_allocs_per_op"`
	OpenaigoAllocs      float64 `json:"openaigo_allocs_per_op"`
	ChatGoopenaiAllocs  float64 `json:"chat_goopenai_allocs_per_op"`
	DelugeBytes         float64 `json:"deluge_bytes_per_op"`
	RawBytes            float64 `json:"raw_http_bytes_per_op"`
}

type embeddingsSet struct {
	Inputs          int     `json:"inputs"`
	Dimensions      int     `json:"dimensions"`
	BodyBytes       int     `json:"body_bytes"`
	DelugeNsPerOp   float64 `json:"deluge_ns_per_op"`
	GoopenaiNsPerOp float64 `json:"goopenai_ns_per_op"`
	Ratio           float64 `json:"ratio_vs_goopenai"`
	AddedUs         float64 `json:"added_us"`
	DelugeAllocs    float64 `json:"deluge_allocs_per_op"`
	GoopenaiAllocs  float64 `json:"goopenai_allocs_per_op"`
	DelugeBytes     float64 `json:"deluge_bytes_per_op"`
	GoopenaiBytes   float64 `json:"goopenai_bytes_per_op"`
}

// responsesBody is an Azure Responses API reply with smallContent as its
// text: the layout of fixtures/azure/aoai_responses_create_v1_gpt41nano.doc.json
// with the content_filters newer deployments add.
var responsesBody = func() []byte {
	q, _ := json.Marshal(smallContent)
	return fmt.Appendf(nil, `{"id":"resp_682f7eb5dc408190b491cbbe57be2fbf0f98d661c3dc276d","created_at":1747943093.0,"error":null,"incomplete_details":null,"instructions":null,"metadata":{},"model":%q,"object":"response","output":[{"id":"msg_682f7eb61d908190926a004c15c5ddd00f98d661c3dc276d","content":[{"annotations":[],"text":%s,"type":"output_text"}],"role":"assistant","status":"completed","type":"message"}],"parallel_tool_calls":true,"temperature":1.0,"tool_choice":"auto","tools":[],"top_p":1.0,"background":null,"max_output_tokens":1024,"previous_response_id":null,"reasoning":{"effort":null,"generate_summary":null,"summary":null},"service_tier":"default","status":"completed","text":{"format":{"type":"text"}},"truncation":"disabled","usage":{"input_tokens":42,"input_tokens_details":{"cached_tokens":0},"output_tokens":29,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":71},"user":null,"content_filters":[{"blocked":false,"source_type":"prompt","content_filter_results":%s,"content_filter_offsets":{"start_offset":0,"end_offset":104,"check_offset":0}},{"blocked":false,"source_type":"completion","content_filter_results":%s,"content_filter_offsets":{"start_offset":0,"end_offset":180,"check_offset":180}}],"store":false}`,
		servedModel, q, annotationsPrompt, annotationsChoice)
}()

// Embeddings request shape.
const (
	embedInputs = 16
	embedDims   = 1536
)

var embedTexts = func() []string {
	out := make([]string, embedInputs)
	for i := range out {
		out[i] = fmt.Sprintf("Document %d: rate limits on Azure OpenAI are set per deployment, in tokens per minute.", i)
	}
	return out
}()

// embeddingsBody is an embeddings reply of embedInputs base64 vectors.
var embeddingsBody = func() []byte {
	var b bytes.Buffer
	b.WriteString(`{"object":"list","data":[`)
	for i := range embedInputs {
		v := make(llm.Vector, embedDims)
		for j := range v {
			v[j] = float32((i+1)*(j%97)) / 10000
		}
		enc, _ := json.Marshal(v) // base64 of little-endian float32s
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"object":"embedding","index":%d,"embedding":%s}`, i, enc)
	}
	b.WriteString(`],"model":"text-embedding-3-small","usage":{"prompt_tokens":352,"total_tokens":352}}`)
	return b.Bytes()
}()

func runRespEmb(ctx context.Context, p overheadParams) (*respembResult, error) {
	rs, err := runResponsesSet(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("responses: %w", err)
	}
	es, err := runEmbeddingsSet(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	return &respembResult{Responses: rs, Embeddings: es, Rounds: p.rounds}, nil
}

func runResponsesSet(ctx context.Context, p overheadParams) (*responsesSet, error) {
	respDoer := newMemDoer(responsesBody, "application/json")
	chatDoer := newMemDoer(smallBody, "application/json")
	hc := func(d *memDoer) *http.Client { return &http.Client{Transport: d} }

	dc, prov, err := newDeluge(delugeConfig{endpoint: memEndpoint, apiVersion: "v1", httpClient: hc(respDoer),
		opts: []llm.ClientOption{llm.WithAPI(llm.APIResponses)}})
	if err != nil {
		return nil, err
	}
	defer prov.Close()
	raw := newRawResponses(memEndpoint+"/openai/v1/responses", hc(respDoer))
	og := newOpenAIGo(memEndpoint, hc(respDoer), false)
	gc := newGoOpenAI(memEndpoint, hc(chatDoer))

	callers := []caller{
		delugeCaller(dc),
		{"raw-http", raw.call},
		{"openaigo", func(ctx context.Context, prompt string) (string, error) {
			r, err := og.Responses.New(ctx, oaigoresponses.ResponseNewParams{
				Model:           benchDeployment,
				Input:           oaigoresponses.ResponseNewParamsInputUnion{OfString: oaigo.String(prompt)},
				MaxOutputTokens: oaigo.Int(benchMaxTokens),
				Store:           oaigo.Bool(false),
			})
			if err != nil {
				return "", err
			}
			return r.OutputText(), nil
		}},
		goOpenAICaller(gc),
	}
	if err := checkReply(ctx, callers, benchPrompt, smallContent); err != nil {
		return nil, err
	}
	smp, err := measureCallers(ctx, p, callers)
	if err != nil {
		return nil, err
	}
	const d, r, o, g = 0, 1, 2, 3
	med := func(i int, f func(sample) float64) float64 { return round1(median(column(smp[i], f))) }
	wall := func(i int) []float64 { return column(smp[i], wallOf) }
	return &responsesSet{
		BodyBytes:           len(responsesBody),
		DelugeNsPerOp:       med(d, wallOf),
		RawNsPerOp:          med(r, wallOf),
		OpenaigoNsPerOp:     med(o, wallOf),
		ChatGoopenaiNsPerOp: med(g, wallOf),
		RatioVsRaw:          round3(median(ratios(wall(d), wall(r)))),
		RatioVsOpenaigo:     round3(median(ratios(wall(d), wall(o)))),
		RatioVsChatGoopenai: round3(median(ratios(wall(d), wall(g)))),
		AddedUsVsRaw:        round2(median(diffs(wall(d), wall(r))) / 1e3),
		DelugeAllocs:        med(d, allocsOf),
		RawAllocs:           med(r, allocsOf),
		OpenaigoAllocs:      med(o, allocsOf),
		ChatGoopenaiAllocs:  med(g, allocsOf),
		DelugeBytes:         med(d, bytesOf),
		RawBytes:            med(r, bytesOf),
	}, nil
}

// measureCallers interleaves callers (each one call of benchPrompt).
func measureCallers(ctx context.Context, p overheadParams, callers []caller) ([][]sample, error) {
	cons := make([]*contender, len(callers))
	for i, c := range callers {
		cons[i] = &contender{name: c.name, op: func() (float64, error) { _, err := c.call(ctx, benchPrompt); return 0, err }}
	}
	return interleave(ctx, cons, p.rounds, p.slices, p.slice)
}

// rawResponses is the Responses API call a careful Go programmer writes by
// hand: one struct in, one struct out, encoding/json, net/http.
type rawResponses struct {
	url string
	hc  *http.Client
}

func newRawResponses(url string, hc *http.Client) *rawResponses {
	return &rawResponses{url: url, hc: hc}
}

type rawRespRequest struct {
	Model           string `json:"model"`
	Input           string `json:"input"`
	MaxOutputTokens int    `json:"max_output_tokens"`
	Store           bool   `json:"store"`
}

type rawRespReply struct {
	Status string `json:"status"`
	Output []struct {
		Type    string `json:"type"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
	Usage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

func (r *rawResponses) call(ctx context.Context, prompt string) (string, error) {
	body, err := json.Marshal(rawRespRequest{Model: benchDeployment, Input: prompt, MaxOutputTokens: benchMaxTokens})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-key", benchKey)
	resp, err := r.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var out rawRespReply
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, it := range out.Output {
		for _, c := range it.Content {
			if c.Type == "output_text" {
				b.WriteString(c.Text)
			}
		}
	}
	return b.String(), nil
}

func runEmbeddingsSet(ctx context.Context, p overheadParams) (*embeddingsSet, error) {
	doer := newMemDoer(embeddingsBody, "application/json")
	hc := &http.Client{Transport: doer}
	prov, err := azurefoundry.New(azurefoundry.Config{Endpoint: memEndpoint, APIKey: benchKey, HTTPClient: hc, Logger: quietLogger})
	if err != nil {
		return nil, err
	}
	defer prov.Close()
	emb, err := llm.NewClient("azure-text-embedding-3-small", llm.WithProviderInstance(prov),
		llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1), llm.WithLogger(quietLogger))
	if err != nil {
		return nil, err
	}
	cc := goopenai.DefaultConfig(benchKey)
	cc.BaseURL = memEndpoint + "/openai/v1"
	cc.HTTPClient = &http.Client{Transport: doer}
	gc := goopenai.NewClientWithConfig(cc)

	delugeOp := func() (float64, error) {
		out, err := emb.Embed(ctx, embedTexts)
		if err != nil {
			return 0, err
		}
		if len(out.Vectors) != embedInputs || len(out.Vectors[0]) != embedDims {
			return 0, errors.New("deluge: wrong vectors")
		}
		return 0, nil
	}
	goopenaiOp := func() (float64, error) {
		r, err := gc.CreateEmbeddings(ctx, goopenai.EmbeddingRequest{Input: embedTexts, Model: "text-embedding-3-small",
			EncodingFormat: goopenai.EmbeddingEncodingFormatBase64})
		if err != nil {
			return 0, err
		}
		if len(r.Data) != embedInputs || len(r.Data[0].Embedding) != embedDims {
			return 0, errors.New("go-openai: wrong vectors")
		}
		return 0, nil
	}
	cons := []*contender{{name: "deluge", op: delugeOp}, {name: "goopenai", op: goopenaiOp}}
	smp, err := interleave(ctx, cons, p.rounds, p.slices, max(p.slice, 5*time.Millisecond))
	if err != nil {
		return nil, err
	}
	med := func(i int, f func(sample) float64) float64 { return round1(median(column(smp[i], f))) }
	wall := func(i int) []float64 { return column(smp[i], wallOf) }
	return &embeddingsSet{
		Inputs: embedInputs, Dimensions: embedDims, BodyBytes: len(embeddingsBody),
		DelugeNsPerOp:   med(0, wallOf),
		GoopenaiNsPerOp: med(1, wallOf),
		Ratio:           round3(median(ratios(wall(0), wall(1)))),
		AddedUs:         round2(median(diffs(wall(0), wall(1))) / 1e3),
		DelugeAllocs:    med(0, allocsOf),
		GoopenaiAllocs:  med(1, allocsOf),
		DelugeBytes:     med(0, bytesOf),
		GoopenaiBytes:   med(1, bytesOf),
	}, nil
}
