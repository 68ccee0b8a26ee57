package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	sdkoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

// The anthropic figure (issue 15): one Messages API call through deluge
// against the same call made with anthropic-sdk-go v2 (retries off) and
// with a hand-written net/http + encoding/json client — the measurement
// behind providers/anthropic's choice of wire library. The same request
// (a system prompt, one user message, max_tokens 1024) and the same reply,
// first through an in-memory transport answering a canned Message (the
// clients' own cost), then over loopback against the emulator's Claude
// route. deluge is measured twice: the whole path (llm.Client.Generate, its
// limiters, the provider) and the provider's Generate alone.

// anthropicResult is the figure.
type anthropicResult struct {
	InMemory *anthropicSet `json:"in_memory"`
	Loopback *anthropicSet `json:"loopback"`
	Rounds   int           `json:"rounds"`
}

// anthropicSet is one comparison (in memory, or loopback).
type anthropicSet struct {
	BodyBytes int `json:"body_bytes,omitempty"`
	// deluge: llm.Client.Generate on the anthropic provider; provider: the
	// provider's Generate alone.
	DelugeNsPerOp   float64 `json:"deluge_ns_per_op"`
	ProviderNsPerOp float64 `json:"provider_ns_per_op"`
	SDKNsPerOp      float64 `json:"sdk_ns_per_op"`
	RawNsPerOp      float64 `json:"raw_http_ns_per_op"`
	// Medians of per-round ratios and differences.
	RatioVsRaw           float64 `json:"ratio_vs_raw_http"`
	RatioVsSDK           float64 `json:"ratio_vs_sdk"`
	AddedUsVsRaw         float64 `json:"added_us_vs_raw_http"`
	ProviderRatioVsRaw   float64 `json:"provider_ratio_vs_raw_http"`
	ProviderAddedUsVsRaw float64 `json:"provider_added_us_vs_raw_http"`
	DelugeAllocs         float64 `json:"deluge_allocs_per_op"`
	ProviderAllocs       float64 `json:"provider_allocs_per_op"`
	SDKAllocs            float64 `json:"sdk_allocs_per_op"`
	RawAllocs            float64 `json:"raw_http_allocs_per_op"`
	DelugeBytes          float64 `json:"deluge_bytes_per_op"`
	ProviderBytes        float64 `json:"provider_bytes_per_op"`
	SDKBytes             float64 `json:"sdk_bytes_per_op"`
	RawBytes             float64 `json:"raw_http_bytes_per_op"`
}

// The request every client sends.
const (
	claudeModel  = "claude-sonnet-4-5" // the anthropic provider's catalog ID, also the emulator's deployment
	claudeSystem = "You are terse."
	claudePrompt = "Hello, Claude"
)

// claudeBody is a documented-shape Messages API reply of typical size (one
// text block, usage with the cache fields): 540 bytes.
const claudeBody = `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
	`"content":[{"type":"text","text":"Hi! My name is Claude. I am an AI assistant made by Anthropic, and I can help with writing, analysis, coding and many other tasks."}],` +
	`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,` +
	`"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":503,"service_tier":"standard"}}`

// claudeTransport reads each request body to the end, as a server does,
// and answers with a fresh header map and reader over claudeBody.
type claudeTransport struct{}

func (claudeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_011CSHoEeqs5C35K2UUqR7Fy"}}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader(claudeBody)),
		ContentLength: int64(len(claudeBody)), Request: r}, nil
}

// claudeClients are the four contenders against one base URL (the URL
// before /v1/messages).
type claudeClients struct {
	callers []caller // deluge, provider, anthropic-sdk-go, raw-http
	close   func()
}

// newClaudeClients builds the contenders; hc returns each one's HTTP
// client (nil for deluge's: the provider's own pooled transport).
func newClaudeClients(base string, hc func(deluge bool) *http.Client) (*claudeClients, error) {
	m, err := registry.Lookup(claudeModel)
	if err != nil {
		return nil, err
	}
	whole, err := anthropic.New(anthropic.Config{APIKey: benchKey, BaseURL: base, HTTPClient: hc(true)})
	if err != nil {
		return nil, err
	}
	alone, err := anthropic.New(anthropic.Config{APIKey: benchKey, BaseURL: base, HTTPClient: hc(true)})
	if err != nil {
		whole.Close()
		return nil, err
	}
	c, err := llm.NewClient(claudeModel, llm.WithProviderInstance(whole), llm.WithMaxRequestsPerMinute(-1),
		llm.WithMaxTokensPerMinute(-1), llm.WithLogger(quietLogger), llm.WithMaxNewTokens(benchMaxTokens))
	if err != nil {
		whole.Close()
		alone.Close()
		return nil, err
	}
	conv := func(prompt string) *conversation.Conversation {
		return conversation.New().System(claudeSystem).User(prompt)
	}
	sc := sdk.NewClient(sdkoption.WithAPIKey(benchKey), sdkoption.WithBaseURL(base+"/"), sdkoption.WithMaxRetries(0),
		sdkoption.WithHTTPClient(hc(false)))
	raw := &rawMessages{url: base + "/v1/messages", hc: hc(false)}
	return &claudeClients{
		callers: []caller{
			{"deluge", func(ctx context.Context, prompt string) (string, error) {
				r, err := c.Generate(ctx, conv(prompt))
				if err != nil {
					return "", err
				}
				return r.Completion, nil
			}},
			{"provider", func(ctx context.Context, prompt string) (string, error) {
				r, err := alone.Generate(ctx, &llm.Request{Model: m, Messages: conv(prompt).Messages(),
					Sampling: llm.Sampling{MaxNewTokens: benchMaxTokens}})
				if err != nil {
					return "", err
				}
				return r.Completion, nil
			}},
			{"anthropic-sdk-go", func(ctx context.Context, prompt string) (string, error) {
				r, err := sc.Messages.New(ctx, sdk.MessageNewParams{
					Model: claudeModel, MaxTokens: benchMaxTokens,
					System:   []sdk.TextBlockParam{{Text: claudeSystem}},
					Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock(prompt))},
				})
				if err != nil {
					return "", err
				}
				var b strings.Builder
				for _, blk := range r.Content {
					b.WriteString(blk.Text)
				}
				return b.String(), nil
			}},
			{"raw-http", raw.call},
		},
		close: func() {
			c.Close()
			whole.Close()
			alone.Close()
		},
	}, nil
}

func runAnthropic(ctx context.Context, p overheadParams) (*anthropicResult, error) {
	mem, err := compareClaude(ctx, p, "https://api.anthropic.com", func(bool) *http.Client {
		return &http.Client{Transport: claudeTransport{}}
	})
	if err != nil {
		return nil, fmt.Errorf("in-memory: %w", err)
	}
	mem.BodyBytes = len(claudeBody)
	srv := azuretest.NewServer(azuretest.WithDeployment(claudeModel, ""), azuretest.WithArrivalLog(0))
	defer srv.Close()
	var transports []*http.Transport
	defer func() {
		for _, t := range transports {
			t.CloseIdleConnections()
		}
	}()
	loop, err := compareClaude(ctx, p, srv.URL+"/anthropic", func(deluge bool) *http.Client {
		if deluge {
			return nil
		}
		t := newPooledTransport()
		transports = append(transports, t)
		return &http.Client{Transport: t}
	})
	if err != nil {
		return nil, fmt.Errorf("loopback: %w", err)
	}
	return &anthropicResult{InMemory: mem, Loopback: loop, Rounds: p.rounds}, nil
}

// compareClaude measures the four contenders with interleave.
func compareClaude(ctx context.Context, p overheadParams, base string, hc func(deluge bool) *http.Client) (*anthropicSet, error) {
	cs, err := newClaudeClients(base, hc)
	if err != nil {
		return nil, err
	}
	defer cs.close()
	if err := checkReply(ctx, cs.callers, claudePrompt, ""); err != nil {
		return nil, err
	}
	cons := make([]*contender, len(cs.callers))
	for i, c := range cs.callers {
		cons[i] = &contender{name: c.name, op: func() (float64, error) { _, err := c.call(ctx, claudePrompt); return 0, err }}
	}
	smp, err := interleave(ctx, cons, p.rounds, p.slices, p.slice)
	if err != nil {
		return nil, err
	}
	const d, v, s, r = 0, 1, 2, 3
	med := func(i int, f func(sample) float64) float64 { return round1(median(column(smp[i], f))) }
	wall := func(i int) []float64 { return column(smp[i], wallOf) }
	return &anthropicSet{
		DelugeNsPerOp:        med(d, wallOf),
		ProviderNsPerOp:      med(v, wallOf),
		SDKNsPerOp:           med(s, wallOf),
		RawNsPerOp:           med(r, wallOf),
		RatioVsRaw:           round3(median(ratios(wall(d), wall(r)))),
		RatioVsSDK:           round3(median(ratios(wall(d), wall(s)))),
		AddedUsVsRaw:         round2(median(diffs(wall(d), wall(r))) / 1e3),
		ProviderRatioVsRaw:   round3(median(ratios(wall(v), wall(r)))),
		ProviderAddedUsVsRaw: round2(median(diffs(wall(v), wall(r))) / 1e3),
		DelugeAllocs:         med(d, allocsOf),
		ProviderAllocs:       med(v, allocsOf),
		SDKAllocs:            med(s, allocsOf),
		RawAllocs:            med(r, allocsOf),
		DelugeBytes:          med(d, bytesOf),
		ProviderBytes:        med(v, bytesOf),
		SDKBytes:             med(s, bytesOf),
		RawBytes:             med(r, bytesOf),
	}, nil
}

// rawMessages is the Messages API call a careful Go programmer writes
// without a library: structs, encoding/json, net/http.
type rawMessages struct {
	url string
	hc  *http.Client
}

type rawBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type rawMessage struct {
	Role    string     `json:"role"`
	Content []rawBlock `json:"content"`
}

type rawMessagesRequest struct {
	Model     string       `json:"model"`
	MaxTokens int          `json:"max_tokens"`
	System    []rawBlock   `json:"system"`
	Messages  []rawMessage `json:"messages"`
}

type rawMessagesReply struct {
	Content []rawBlock `json:"content"`
	Usage   struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

func (r *rawMessages) call(ctx context.Context, prompt string) (string, error) {
	body, err := json.Marshal(rawMessagesRequest{Model: claudeModel, MaxTokens: benchMaxTokens,
		System: []rawBlock{{"text", claudeSystem}}, Messages: []rawMessage{{"user", []rawBlock{{"text", prompt}}}}})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header["X-Api-Key"] = []string{benchKey}
	req.Header["Anthropic-Version"] = []string{anthropic.DefaultVersion}
	req.Header["Content-Type"] = []string{"application/json"}
	resp, err := r.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var out rawMessagesReply
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if len(out.Content) == 0 {
		return "", errors.New("no content")
	}
	var b strings.Builder
	for _, blk := range out.Content {
		b.WriteString(blk.Text)
	}
	return b.String(), nil
}
